package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a sweep spec and print its expanded grid",
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
			printGrid(f, reps, c.Bool("all"))
			return printData(f)
		},
	}
}

func printGrid(f *spec.File, reps []spec.Replica, all bool) {
	groups := map[string]int{}
	var order []string
	for _, r := range reps {
		if groups[r.Group] == 0 {
			order = append(order, r.Group)
		}
		groups[r.Group]++
	}
	fmt.Printf("%s: sweep %s, %d replicas in %d groups, %d steps each\n", f.Path, f.SweepID(), len(reps), len(order), f.Spec.Steps)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
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
	fmt.Printf("grid axes: %s\n", strings.Join(ks, ", "))
}

// printData prints the size of the spec's data files (spec.Load has found
// them and hashed them): bytes and lines, counted without parsing (a header
// line counts; malformed rows show only when a replica reads the file).
func printData(f *spec.File) error {
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
		fmt.Printf("data %s: %d lines, %d bytes, sha256 %s\n", p[0], lines, len(b), hash)
	}
	return nil
}
