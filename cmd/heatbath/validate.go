package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a sweep spec and its data, and print its expanded grid and the data set's size",
		ArgsUsage: "SPEC",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "list every replica, not only the groups"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("validate: want one spec file, got %d arguments", c.NArg())
			}
			f, err := spec.Load(c.Args().First())
			if err != nil {
				return err
			}
			reps, err := f.Expand(train.Resolve)
			if err != nil {
				return err
			}
			w := c.App.Writer
			printGrid(w, f, reps, c.Bool("all"))
			if err := printData(w, f); err != nil {
				return err
			}
			return printDataSets(w, f, reps)
		},
	}
}

func printGrid(w io.Writer, f *spec.File, reps []spec.Replica, all bool) {
	groups := map[string]int{}
	var order []string
	for _, r := range reps {
		if groups[r.Group] == 0 {
			order = append(order, r.Group)
		}
		groups[r.Group]++
	}
	fmt.Fprintf(w, "%s: sweep %s, %s in %s, %d steps each\n", f.Path, f.SweepID(), plural(len(reps), "replica"), plural(len(order), "group"), f.Spec.Steps)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if all {
		fmt.Fprintln(tw, "replica\tseed\tgroup")
		for _, r := range reps {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", r.ID, r.Seed, r.Group)
		}
	} else {
		fmt.Fprintln(tw, "group\tseeds")
		for _, g := range order {
			fmt.Fprintf(tw, "%s\t%d\n", g, groups[g])
		}
	}
	tw.Flush()
	keys := map[string]bool{}
	for _, r := range reps {
		for k := range r.Settings {
			keys[k] = true
		}
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	fmt.Fprintf(w, "grid axes: %s\n", strings.Join(ks, ", "))
}

// printData prints the size of the spec's data files (spec.Load has found
// them and hashed them): bytes and lines, counted without parsing (a header
// line counts; malformed rows show only when a replica reads the file).
func printData(w io.Writer, f *spec.File) error {
	d := f.Spec.Data
	if d.Kind != "csv" {
		return nil
	}
	for _, p := range [][2]string{{d.Path, d.SHA256}, {d.TestPath, d.TestSHA256}} {
		if p[0] == "" {
			continue
		}
		b, err := os.ReadFile(p[0])
		if err != nil {
			return fmt.Errorf("validate: data file: %w", err)
		}
		lines := bytes.Count(b, []byte("\n"))
		if len(b) > 0 && b[len(b)-1] != '\n' {
			lines++
		}
		hash := p[1]
		if len(hash) > 12 {
			hash = hash[:12]
		}
		fmt.Fprintf(w, "data %s: %d lines, %d bytes, sha256 %s\n", p[0], lines, len(b), hash)
	}
	return nil
}

// printDataSets reads the data set of each distinct data configuration of
// the replicas (one for most sweeps), as a replica would when it starts,
// and prints its size: features, classes and the points of each split. A
// data file that is missing, unreadable or malformed is an error naming
// the spec and the field.
func printDataSets(w io.Writer, f *spec.File, reps []spec.Replica) error {
	seen := map[string]bool{}
	for _, r := range reps {
		key, err := json.Marshal(struct {
			D    protocol.DataConfig
			Seed uint64
		}{r.Config.Data, r.Config.DataSeed})
		if err != nil {
			return err
		}
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		built, err := train.Build(r.Config)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		d := r.Config.Data
		name := d.Kind
		switch {
		case d.Kind == "mnist" && d.Dir != "":
			name += " " + d.Dir
		case d.Kind == "csv":
			name += " " + d.Path
		case d.Preset != "":
			name += " " + d.Preset
		}
		val := 0
		if built.Val != nil {
			val = built.Val.Len()
		}
		fmt.Fprintf(w, "data set %s (data_seed %d): %d features, %d classes; %d training, %d validation, %d test points\n",
			name, r.Config.DataSeed, built.Train.Dim, built.Train.Classes, built.Train.Len(), val, built.Test.Len())
	}
	return nil
}

// plural writes "1 replica", "2 replicas".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
