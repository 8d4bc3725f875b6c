// Command heatbath trains neural networks with partitioned Langevin
// integrators and runs ensembles of such chains over NATS.
//
//	heatbath train [SPEC] [flags]    one chain in-process, no NATS
//	heatbath validate SPEC           expand a sweep spec and print its grid
//	heatbath run [SPEC] --out DIR    a whole sweep on an embedded NATS server
//	heatbath worker --nats URL       run replicas for a NATS cluster
//	heatbath submit|status|resume|cancel|list|delete --nats URL
//	heatbath report RUN_DIR          statistics, charts and report.html
//	heatbath export RUN_DIR --to DIR one replica's parameters and model.json
//
// The exit status is one of the exit* constants below.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/internal/suggest"
)

// Exit statuses of the whole command line, every command alike. They are
// listed by `heatbath --help` (exitCodes) and in README.md.
const (
	// exitOK: the command did what it was asked. A sweep whose chains
	// diverged exits 0 too: a diverged chain is a result (the hot rungs of
	// a temperature ladder diverge by design); it is counted and shown.
	exitOK = 0
	// exitError: the command failed (bad input, a file that cannot be read
	// or written, a server that cannot be reached, ...); the last line on
	// stderr says why.
	exitError = 1
	// exitUsage: the command line cannot be read: an unknown command or
	// flag, a flag value that does not parse, the wrong number of
	// arguments, flags that do not go together.
	exitUsage = 2
	// exitFailed: a sweep ran to its end but some of its replicas failed
	// (run, submit and resume when following); the last line counts them,
	// and `heatbath report` lists each with its error.
	exitFailed = 3
	// exitInterrupted: stopped by Ctrl-C or SIGTERM (128 + SIGINT, as a
	// shell reports a process killed by Ctrl-C); the last line says how to
	// resume. A worker that hands its replicas back on SIGTERM exits 0.
	exitInterrupted = 130
)

// exitCodes are the lines of the EXIT CODES section of --help, one per
// exit status.
var exitCodes = []struct {
	code    int
	meaning string
}{
	{exitOK, "success (diverged chains are results: counted and shown, not failures)"},
	{exitError, "error"},
	{exitUsage, "usage: unknown command or flag, bad flag value, wrong number of arguments"},
	{exitFailed, "some replicas of the sweep failed (run, submit, resume)"},
	{exitInterrupted, "interrupted (Ctrl-C, SIGTERM); run the same command again to resume"},
}

// exitCodesHelp returns the EXIT CODES section of the app's help.
func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString("\nEXIT CODES:\n")
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "   %-5d%s\n", e.code, e.meaning)
	}
	return b.String()
}

// usageError is an error of the command line itself: exit status
// exitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError formatted as fmt.Errorf does.
func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// replicasFailedError ends a sweep some of whose replicas failed: exit
// status exitFailed. The command has printed its last line counting them,
// so main prints nothing more.
type replicasFailedError struct {
	sweep  string
	failed int
}

func (e *replicasFailedError) Error() string {
	return fmt.Sprintf("sweep %s: %d replicas failed", e.sweep, e.failed)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the commands wind down (a sweep hands its
		// running replicas back with a checkpoint); a second one kills the
		// process at once, as if nothing caught it.
		<-ctx.Done()
		stop()
	}()
	os.Exit(runMain(ctx, os.Args, os.Stdout, os.Stderr))
}

// runMain runs the command line args with the app's help and version
// printed to stdout, prints its error to stderr and returns the exit
// status.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp()
	app.Writer, app.ErrWriter = stdout, stderr
	err := app.RunContext(ctx, flagsFirst(app, args))
	code, msg := exitStatus(ctx, err)
	if msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	return code
}

// exitStatus maps the error of a command run with ctx to the exit status
// and the line to print ("" for none).
func exitStatus(ctx context.Context, err error) (int, string) {
	if err == nil {
		return exitOK, ""
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "heatbath") {
		msg = "heatbath: " + msg
	}
	var failed *replicasFailedError
	var usage *usageError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		if !strings.Contains(msg, "interrupted") {
			msg = "heatbath: interrupted (" + err.Error() + "); run the same command again to resume"
		}
		return exitInterrupted, msg
	case errors.As(err, &failed):
		return exitFailed, ""
	case errors.As(err, &usage):
		return exitUsage, msg
	}
	return exitError, msg
}

// versionInfo describes the binary from its build information: the
// module version ("(devel)" for a build from a checkout), the Go version
// and the commit, with "+dirty" when the checkout had uncommitted changes.
func versionInfo() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "heatbath (no build information) " + runtime.Version()
	}
	version, commit, dirty := bi.Main.Version, "unknown", false
	if version == "" {
		version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		commit += "+dirty"
	}
	if commit == "unknown" {
		commit += " (no VCS stamp: go run, -buildvcs=false or a build outside a git checkout)"
	}
	return fmt.Sprintf("heatbath %s %s commit %s", version, bi.GoVersion, commit)
}

// printVersion prints versionInfo to the app's output.
func printVersion(c *cli.Context) {
	fmt.Fprintln(c.App.Writer, versionInfo())
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the Go version and the commit (same as --version)",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("version: takes no arguments, got %d", c.NArg())
			}
			printVersion(c)
			return nil
		},
	}
}

func init() {
	// The app's --version (urfave/cli reads these globals).
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version, the Go version and the commit"}
	cli.VersionPrinter = printVersion
}

func newApp() *cli.App {
	app := &cli.App{
		Name: "heatbath",
		// Version is set so that urfave/cli offers --version; the line
		// itself is versionInfo's.
		Version: "-",
		Usage:   "thermodynamic parameterization of neural networks, one chain or an ensemble over NATS",
		Description: "Trains networks with discretized SDEs (Langevin BAOAB, overdamped Langevin, SGLD, adaptive Langevin)\n" +
			"and the partitioned schemes LOL and AdLaLa of Leimkuhler, Matthews & Vlaar, against SGD and Adam.",
		Commands: []*cli.Command{
			trainCommand(),
			validateCommand(),
			runCommand(),
			workerCommand(),
			healthcheckCommand(),
			submitCommand(),
			statusCommand(),
			uiCommand(),
			listCommand(),
			deleteCommand(),
			resumeCommand(),
			cancelCommand(),
			reportCommand(),
			tuneCommand(),
			exportCommand(),
			versionCommand(),
		},
		// Without a command: the help; with an unknown one: a usage error
		// (urfave/cli would print "No help topic" and exit 3, the status
		// of failed replicas).
		Action:                unknownCommand,
		CustomAppHelpTemplate: cli.AppHelpTemplate + exitCodesHelp(),
		// Errors are printed once by main, without usage text or traces.
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
	}
	for _, c := range app.Commands {
		// Without it a command's bad flag prints the whole help before
		// the error.
		c.OnUsageError = onUsageError
	}
	return app
}

// onUsageError turns a flag that is not defined or does not parse into a
// one-line usageError naming the flag as typed (flagProblem).
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	msg := flagProblem(err, flagsOf(c))
	if !isSubcommand {
		return usageErrorf("%s (see heatbath --help)", msg)
	}
	return usageErrorf("%s: %s (see heatbath %s --help)", c.Command.Name, msg, c.Command.Name)
}

// unknownCommand is the app's action, run when the first argument names
// no command: "help [COMMAND]" shows the help, no argument the app's help,
// anything else is a usage error with the closest command name.
func unknownCommand(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	if name == "help" {
		switch topic := c.Args().Get(1); {
		case c.NArg() > 2:
			return usageErrorf("help: one command at most, got %d arguments", c.NArg()-1)
		case topic == "" || topic == "help":
			return cli.ShowAppHelp(c)
		case c.App.Command(topic) != nil:
			return cli.ShowCommandHelp(c, topic)
		default:
			return unknownCommandError(c, topic)
		}
	}
	return unknownCommandError(c, name)
}

// unknownCommandError is the usage error for a command name that is not
// one, with the closest command name.
func unknownCommandError(c *cli.Context, name string) error {
	var names []string
	for _, cmd := range c.App.VisibleCommands() {
		names = append(names, cmd.Name)
	}
	return usageErrorf("unknown command %q%s (commands: %s; see heatbath --help)", name, suggest.Hint(name, names), strings.Join(names, ", "))
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
	dangling := false // the last flag wants a value and has none
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
			if !strings.Contains(name, "=") && !boolFlag[name] {
				if i+1 == len(rest) {
					dangling = true
					break
				}
				flags = append(flags, rest[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	// A flag at the end without its value stays last, so that the flag
	// parser says it needs one (it would take the "--" before the
	// positional arguments as its value).
	if len(pos) > 0 && !dangling {
		out = append(append(out, "--"), pos...)
	}
	return out
}
