package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/worker"
)

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "run replicas for a NATS cluster until SIGTERM",
		Description: "Pulls tasks of --pool, runs --slots chains at once, checkpoints, and on SIGTERM or Ctrl-C\n" +
			"stops pulling, checkpoints its running replicas and hands them back before exiting.",
		Flags: append(natsFlags(),
			&cli.IntFlag{Name: "slots", Value: runtime.NumCPU(), Usage: "chains run at once"},
			&cli.StringFlag{Name: "name", Usage: "worker name in replica records (default host-pid-random)"},
			healthFlag,
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageErrorf("worker: no arguments expected, got %q", c.Args().First())
			}
			if c.Int("slots") < 1 {
				return usageErrorf("worker: --slots %d must be at least 1", c.Int("slots"))
			}
			for _, f := range []string{"name", "pool"} {
				if v := c.String(f); (v != "" || f == "pool") && !protocol.ValidToken(v) {
					return usageErrorf("worker: --%s %q may hold only letters, digits, - and _ (1 to %d of them)", f, v, protocol.MaxTokenLen)
				}
			}
			log := newLogger(c)
			nc, err := connect(c, log, "heatbath-worker")
			if err != nil {
				return err
			}
			defer nc.Close()
			w, err := worker.New(nc, worker.Config{Name: c.String("name"), Pool: c.String("pool"), Slots: c.Int("slots"), Logger: log})
			if err != nil {
				return err
			}
			stopHealth, err := serveHealth(c.Context, c.String("health"), nc, log)
			if err != nil {
				return err
			}
			defer stopHealth()
			return w.Run(c.Context)
		},
	}
}

// coordinatorFor connects a coordinator. With setup (submit) it creates
// the streams and buckets that are missing, with --stream-replicas or the
// replication Setup chooses; without (status, cancel, resume) it only
// opens the existing ones, so that these commands cannot reconfigure a
// cluster.
func coordinatorFor(c *cli.Context, setup bool) (*coordinator.Coordinator, func(), error) {
	log := newLogger(c)
	nc, err := connect(c, log, "heatbath-coordinator")
	if err != nil {
		return nil, nil, err
	}
	cfg := coordinator.Config{Pool: c.String("pool"), Logger: log}
	if setup {
		cfg.Replicas = c.Int("stream-replicas")
	}
	co, err := coordinator.New(nc, cfg)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	open := co.Open
	if setup {
		open = co.Setup
	}
	if err := open(c.Context); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return co, nc.Close, nil
}

// streamReplicasFlag sets the replication of the streams and buckets that
// submit creates. Unset (0), submit keeps what exists and otherwise
// chooses the cluster's size up to 3, or 1 on a single server; set, it
// must match the streams that exist (it never changes them).
var streamReplicasFlag = &cli.IntFlag{Name: "stream-replicas", EnvVars: []string{"HEATBATH_STREAM_REPLICAS"},
	DefaultText: "keep what exists, else the cluster's size up to 3, else 1",
	Usage:       "JetStream replicas of the streams and buckets submit creates; never changes existing ones"}

// onSweep is the action of the commands that take a sweep id and talk to
// a coordinator: it checks the argument, connects, and runs do.
func onSweep(verb string, do func(c *cli.Context, co *coordinator.Coordinator, id string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		id, err := sweepArg(c, verb)
		if err != nil {
			return err
		}
		co, closeFn, err := coordinatorFor(c, false)
		if err != nil {
			return err
		}
		defer closeFn()
		return noSweep(c.Context, co, verb, do(c, co, id))
	}
}

func followFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "run directory (default runs/<sweep id>)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return at once instead of following the sweep to its end"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bars"},
		&cli.BoolFlag{Name: "no-report", Usage: "skip the report at the end"},
		forceFlag,
	}
}

// follow collects a sweep into its run directory with progress, then
// writes the report.
func follow(c *cli.Context, co *coordinator.Coordinator, id string) error {
	if c.Bool("detach") {
		fmt.Printf("sweep %s submitted; follow it with: heatbath resume %s --nats %s\n", id, id, c.String("nats"))
		return nil
	}
	out := followOut(c, id)
	prog := followProgress(c.Context, co, id, newLogger(c), c.Bool("quiet"))
	sum, err := co.Collect(c.Context, id, out)
	prog.close()
	if err != nil {
		if c.Context.Err() != nil {
			return fmt.Errorf("interrupted; the sweep goes on. Pick it up again with: heatbath resume %s --out %s", id, out)
		}
		return err
	}
	return finishSweep(os.Stdout, sum, out, !c.Bool("no-report"))
}

func submitCommand() *cli.Command {
	return &cli.Command{
		Name:      "submit",
		Usage:     "submit a sweep to a NATS cluster and follow it",
		ArgsUsage: "SPEC",
		Flags:     append(append(natsFlags(), followFlags()...), streamReplicasFlag),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("submit: want one spec file, got %d arguments", c.NArg())
			}
			sw, _, err := loadSweep(c.Args().First())
			if err != nil {
				return err
			}
			release, err := claimFollowDir(c, sw.ID)
			if err != nil {
				return err
			}
			defer release()
			co, closeFn, err := coordinatorFor(c, true)
			if err != nil {
				return err
			}
			defer closeFn()
			n, err := co.Submit(c.Context, sw)
			if err != nil {
				return err
			}
			fmt.Printf("sweep %s: %d replicas, %d enqueued now\n", sw.ID, len(sw.Replicas), n)
			return follow(c, co, sw.ID)
		},
	}
}

func resumeCommand() *cli.Command {
	return &cli.Command{
		Name:      "resume",
		Usage:     "re-enqueue the unfinished replicas of a sweep and follow it (safe to repeat)",
		ArgsUsage: "SWEEP",
		Flags:     append(natsFlags(), followFlags()...),
		Action: func(c *cli.Context) error {
			// The run directory is claimed before connecting.
			id, err := sweepArg(c, "resume")
			if err != nil {
				return err
			}
			release, err := claimFollowDir(c, id)
			if err != nil {
				return err
			}
			defer release()
			return onSweep("resume", func(c *cli.Context, co *coordinator.Coordinator, id string) error {
				n, err := co.Resume(c.Context, id)
				if err != nil {
					return err
				}
				fmt.Printf("sweep %s: %d unfinished replicas re-enqueued\n", id, n)
				return follow(c, co, id)
			})(c)
		},
	}
}

func cancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "stop a sweep; finished replicas are kept",
		ArgsUsage: "SWEEP",
		Flags:     natsFlags(),
		Action: onSweep("cancel", func(c *cli.Context, co *coordinator.Coordinator, id string) error {
			if err := co.Cancel(c.Context, id); err != nil {
				return err
			}
			fmt.Printf("sweep %s cancelled; resume it with: heatbath resume %s\n", id, id)
			return nil
		}),
	}
}
