package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/suggest"
	"github.com/heatbath/heatbath/protocol"
)

// The operator's commands on a server's sweeps: status (live, from the
// coordinator's feed), list and delete. They open the existing streams and
// buckets (coordinator.Open) and never change their configuration.

// openCoordinator connects and opens a coordinator on the existing streams
// and buckets; close undoes it.
func openCoordinator(c *cli.Context) (co *coordinator.Coordinator, close func(), err error) {
	log := newLogger(c)
	nc, err := connect(c, log, "heatbath-admin")
	if err != nil {
		return nil, nil, err
	}
	co, err = coordinator.New(nc, coordinator.Config{Pool: c.String("pool"), Logger: log})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	if err := co.Open(c.Context); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return co, nc.Close, nil
}

// stateOrder is the order in which states are counted on a line and in
// the columns of list. StatePruned, last, is shown on a line only when
// some replica is pruned (only a sweep with a prune rule has any).
var stateOrder = []protocol.State{protocol.StateDone, protocol.StateRunning, protocol.StatePending,
	protocol.StatePreempted, protocol.StateFailed, protocol.StateCancelled, protocol.StatePruned}

// counts formats counts by state: "3 done, 2 running, 0 pending, ...",
// with "N pruned" only when N > 0.
func counts(m map[protocol.State]int) string {
	parts := make([]string, 0, len(stateOrder))
	for _, st := range stateOrder {
		if st == protocol.StatePruned && m[st] == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d %s", m[st], st))
	}
	return strings.Join(parts, ", ")
}

// duration formats an ETA in seconds: "-" when unknown, else rounded to
// the second ("1h02m03s", "45s").
func duration(s *float64) string {
	if s == nil || math.IsInf(*s, 0) || math.IsNaN(*s) {
		return "-"
	}
	if *s > 1e9 {
		return ">30y"
	}
	return (time.Duration(math.Round(*s)) * time.Second).String()
}

func rate(v float64) string {
	if v <= 0 {
		return "-"
	}
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// printStatus writes a snapshot as text: a line for the sweep, then a table
// of its replicas.
func printStatus(w io.Writer, s *coordinator.FeedSnapshot) {
	pct := 0.0
	if s.StepsTotal > 0 {
		pct = 100 * float64(s.StepsDone) / float64(s.StepsTotal)
	}
	status := string(s.Status)
	if status == "" {
		status = "unrecorded"
	}
	fmt.Fprintf(w, "sweep %s (%s) %s: %d replicas: %s\n", s.Sweep, s.Name, status, s.Total, counts(s.Counts))
	fmt.Fprintf(w, "steps %d/%d (%.1f%%), %s steps/s, ETA %s\n", s.StepsDone, s.StepsTotal, pct, rate(s.StepsPerSecond), duration(s.ETASeconds))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "replica\tstate\tattempt\tworker\tstep\tsteps/s\tETA\tgroup\terror")
	for _, r := range s.Replicas {
		worker, eta := r.Worker, duration(r.ETASeconds)
		if worker == "" {
			worker = "-"
		}
		if r.State != protocol.StateRunning {
			eta = "-"
		}
		msg := oneLine(r.Error)
		if r.ErrorCode != "" {
			msg = r.ErrorCode + ": " + msg
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", r.ID, r.State, r.Attempt, worker, r.Step, r.Steps,
			rate(r.StepsPerSecond), eta, r.Group, msg)
	}
	tw.Flush()
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show a sweep live: each replica's state, step, steps/s, ETA and worker, and the sweep's ETA",
		ArgsUsage: "SWEEP",
		Description: "Reads the replica records and the replicas' latest progress events (so a running replica's step moves\n" +
			"between checkpoints). --json prints the snapshot as one JSON object (schema in README.md); --watch\n" +
			"refreshes it every --interval (redrawn on a terminal, else one snapshot after another; with --json one\n" +
			"object per line) until Ctrl-C. Changes nothing on the server.",
		Flags: append(natsFlags(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON (one object per snapshot)"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "refresh until Ctrl-C"},
			&cli.DurationFlag{Name: "interval", Value: 2 * time.Second, Usage: "time between snapshots with --watch"},
		),
		Action: func(c *cli.Context) error {
			id, err := sweepArg(c, "status")
			if err != nil {
				return err
			}
			if c.Duration("interval") <= 0 {
				return usageErrorf("status: --interval %s must be positive", c.Duration("interval"))
			}
			co, closeFn, err := openCoordinator(c)
			if err != nil {
				return err
			}
			defer closeFn()
			w := c.App.Writer
			asJSON, watch := c.Bool("json"), c.Bool("watch")
			redraw := watch && !asJSON && w == io.Writer(os.Stdout) && isTerminal(os.Stdout)
			var werr error
			err = co.Feed(c.Context, id, c.Duration("interval"), func(s *coordinator.FeedSnapshot) bool {
				switch {
				case asJSON:
					werr = json.NewEncoder(w).Encode(s)
				case redraw:
					fmt.Fprint(w, "\x1b[H\x1b[2J") // home, clear screen
					printStatus(w, s)
				default:
					if watch {
						fmt.Fprintf(w, "-- %s\n", s.Time.Format(time.RFC3339))
					}
					printStatus(w, s)
				}
				return watch && werr == nil
			})
			if werr != nil {
				return fmt.Errorf("status: %w", werr)
			}
			if err != nil && c.Context.Err() != nil {
				return errors.New("status: interrupted")
			}
			return noSweep(c.Context, co, "status", err)
		},
	}
}

// noSweep rewrites err, when it is a *coordinator.NoSweepError of the
// command verb, into one line that names the closest sweep on the server
// (the newest of the name given, else the nearest id) and points to
// heatbath list; other errors are returned as they are.
func noSweep(ctx context.Context, co *coordinator.Coordinator, verb string, err error) error {
	var ns *coordinator.NoSweepError
	if !errors.As(err, &ns) {
		return err
	}
	hint := ""
	if sweeps, lerr := co.List(ctx); lerr == nil {
		ids := make([]string, 0, len(sweeps))
		for _, s := range sweeps { // newest first
			if s.Name == ns.Sweep && hint == "" {
				hint = fmt.Sprintf("; did you mean %q, the newest sweep named %s?", s.ID, s.Name)
			}
			ids = append(ids, s.ID)
		}
		if hint == "" {
			hint = suggest.Hint(ns.Sweep, ids)
		}
		if len(sweeps) == 0 {
			return fmt.Errorf("%s: no sweep %q on this server, which has no sweeps", verb, ns.Sweep)
		}
	}
	return fmt.Errorf("%s: no sweep %q on this server%s (heatbath list shows the sweeps on the server)", verb, ns.Sweep, hint)
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the sweeps on a server with their status and replica counts",
		Flags: append(natsFlags(), &cli.BoolFlag{Name: "json", Usage: "print a JSON array"}),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageErrorf("list: no arguments expected, got %q", c.Args().First())
			}
			co, closeFn, err := openCoordinator(c)
			if err != nil {
				return err
			}
			defer closeFn()
			sweeps, err := co.List(c.Context)
			if err != nil {
				return err
			}
			w := c.App.Writer
			if c.Bool("json") {
				if sweeps == nil {
					sweeps = []coordinator.SweepInfo{}
				}
				return json.NewEncoder(w).Encode(sweeps)
			}
			if len(sweeps) == 0 {
				fmt.Fprintln(w, "no sweeps on this server")
				return nil
			}
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			fmt.Fprint(tw, "sweep\tname\tstatus\tcreated\treplicas")
			for _, st := range stateOrder {
				fmt.Fprintf(tw, "\t%s", st)
			}
			fmt.Fprintln(tw)
			for _, s := range sweeps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d", s.ID, s.Name, s.Status, s.Created.Format(time.DateTime), s.Replicas)
				for _, st := range stateOrder {
					fmt.Fprintf(tw, "\t%d", s.Counts[st])
				}
				fmt.Fprintln(tw)
			}
			return tw.Flush()
		},
	}
}

func deleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "remove a finished or cancelled sweep from the server (records, events, stored files)",
		ArgsUsage: "SWEEP",
		Description: "Removes the sweep's replica records and sweep record, its events, its checkpoints and files in the\n" +
			"object store, and its collector consumer. Run directories are not touched. A sweep with replicas\n" +
			"pending or running is refused (cancel it first). Asks for confirmation unless --yes.",
		Flags: append(natsFlags(), &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}),
		Action: func(c *cli.Context) error {
			id, err := sweepArg(c, "delete")
			if err != nil {
				return err
			}
			co, closeFn, err := openCoordinator(c)
			if err != nil {
				return err
			}
			defer closeFn()
			sweeps, err := co.List(c.Context)
			if err != nil {
				return err
			}
			what := "its leftovers (no sweep record)"
			for _, s := range sweeps {
				if s.ID != id {
					continue
				}
				if n := s.Unfinished(); n > 0 {
					return fmt.Errorf("delete: %w", &coordinator.RunningError{Sweep: id, Unfinished: n})
				}
				what = fmt.Sprintf("%s, %d replicas (%s)", s.Status, s.Replicas, counts(s.Counts))
			}
			if !c.Bool("yes") {
				fmt.Fprintf(c.App.ErrWriter, "delete sweep %s: %s, with its records, events and stored files? [y/N] ", id, what)
				line, _ := bufio.NewReader(c.App.Reader).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return fmt.Errorf("delete: sweep %s not deleted (not confirmed; --yes skips the question)", id)
				}
			}
			d, err := co.Delete(c.Context, id)
			if err != nil {
				return noSweep(c.Context, co, "delete", fmt.Errorf("delete: %w", err))
			}
			fmt.Fprintf(c.App.Writer, "sweep %s deleted: %d replica records, %d events, %d objects\n", id, d.Records, d.Events, d.Objects)
			return nil
		},
	}
}
