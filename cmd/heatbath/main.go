// Command heatbath trains neural networks with partitioned Langevin
// integrators and runs ensembles of such chains over NATS.
//
//	heatbath train [SPEC] [flags]    one chain in-process, no NATS
//	heatbath validate SPEC           expand a sweep spec and print its grid
//	heatbath run [SPEC] --out DIR    a whole sweep on an embedded NATS server
//	heatbath worker --nats URL       run replicas for a NATS cluster
//	heatbath submit|status|resume|cancel --nats URL
//	heatbath report RUN_DIR          statistics, charts and report.html
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// exitCoder lets a command choose its exit status.
type exitCoder interface{ ExitCode() int }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp()
	if err := app.RunContext(ctx, flagsFirst(app, os.Args)); err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "heatbath") {
			msg = "heatbath: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		code := 1
		var ec exitCoder
		if errors.As(err, &ec) && ec.ExitCode() != 0 {
			code = ec.ExitCode()
		}
		os.Exit(code)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "heatbath",
		Usage: "thermodynamic parameterization of neural networks, one chain or an ensemble over NATS",
		Description: "Trains networks with discretized SDEs (Langevin BAOAB, overdamped Langevin, SGLD, adaptive Langevin)\n" +
			"and the partitioned schemes LOL and AdLaLa of Leimkuhler, Matthews & Vlaar, against SGD and Adam.",
		Commands: []*cli.Command{
			trainCommand(),
			validateCommand(),
			runCommand(),
			workerCommand(),
			submitCommand(),
			statusCommand(),
			resumeCommand(),
			cancelCommand(),
			reportCommand(),
		},
		// Errors are printed once by main, without usage text or traces.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%s: %w (see heatbath %s --help)", c.Command.FullName(), err, c.Command.Name)
		},
		HideHelpCommand: true,
	}
}

// flagsFirst moves a subcommand's positional arguments after its flags, so
// that "heatbath train spec.yaml --out dir" works: urfave/cli v2 stops
// parsing flags at the first positional argument. A lone "--" ends the
// flags as usual.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var cmd *cli.Command
	for _, c := range app.Commands {
		if c.HasName(args[1]) {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	boolFlag := map[string]bool{"help": true, "h": true}
	for _, f := range cmd.Flags {
		if _, ok := f.(*cli.BoolFlag); ok {
			for _, n := range f.Names() {
				boolFlag[n] = true
			}
		}
	}
	var flags, pos []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			pos = append(pos, rest[i+1:]...)
			i = len(rest)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && !boolFlag[name] && i+1 < len(rest) {
				flags = append(flags, rest[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out
}
