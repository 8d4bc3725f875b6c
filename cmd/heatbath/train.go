package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
	"github.com/heatbath/heatbath/train"
)

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:      "train",
		Usage:     "run one chain in-process (no NATS) and write a result directory",
		ArgsUsage: "[SPEC]",
		Description: "Runs one replica from a spec file (with --replica to pick one point of a grid) or from flags.\n" +
			"Writes replica.json, result.json, trajectory.csv, params.safetensors, best_params.safetensors,\n" +
			"init_params.safetensors, predictions.json, interp.csv and (2-D data) grid.json to --out;\n" +
			"see docs/formats.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "runs/train", Usage: "result directory"},
			&cli.IntFlag{Name: "replica", Value: -1, DefaultText: "the only one", Usage: "index of the replica to run when the spec expands to several"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress output"},
			&cli.StringFlag{Name: "data", Value: "spiral", Usage: "data set: trig, spiral, rings, mnist, csv"},
			&cli.StringFlag{Name: "preset", Usage: "data preset: fig1, fig2 (trig); authors, abstract (spiral)"},
			&cli.StringFlag{Name: "data-path", Usage: "CSV file (data csv) or IDX folder (data mnist)"},
			&cli.IntFlag{Name: "train-size", DefaultText: "per data set", Usage: "training points"},
			&cli.IntFlag{Name: "val-size", Usage: "validation points (0: no validation split; the best checkpoint is chosen on the training loss)"},
			&cli.IntFlag{Name: "test-size", DefaultText: "per data set", Usage: "test points"},
			&cli.StringFlag{Name: "hidden", Value: "100", Usage: "hidden layer widths, comma separated"},
			&cli.StringFlag{Name: "activation", Value: "relu", Usage: "relu or tanh"},
			&cli.StringFlag{Name: "method", Value: "adlala", Usage: "sgd, momentum, adam, sgld, overdamped, langevin, adaptive, lol, adlala, lala"},
			&cli.Float64Flag{Name: "step-size", Aliases: []string{"lr"}, Value: 0.25, Usage: "step size (learning rate for sgd, momentum, adam, sgld)"},
			&cli.StringFlag{Name: "tau", Usage: "temperature τ of every group (default 1e-4)"},
			&cli.StringFlag{Name: "gamma", Usage: "friction γ (default 0.1)"},
			&cli.StringFlag{Name: "sigma-a", Usage: "adaptive driving noise σ_A (default 0.01)"},
			&cli.StringFlag{Name: "epsilon", Usage: "adaptive thermostat coupling ε (default 0.05)"},
			&cli.StringFlag{Name: "xi0", Usage: "initial thermostat ξ (default 0.1)"},
			&cli.Int64Flag{Name: "steps", Value: 80000, Usage: "integrator steps"},
			&cli.Int64Flag{Name: "eval-every", Value: 200, Usage: "steps between evaluations"},
			&cli.IntFlag{Name: "batch", Value: 25, Usage: "minibatch size (0: use --batch-fraction)"},
			&cli.Float64Flag{Name: "batch-fraction", Usage: "minibatch size as a fraction of the training set"},
			&cli.StringFlag{Name: "sampling", Value: "reshuffle", Usage: "reshuffle (per epoch) or replacement"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "chain seed (initialization, minibatches, noise)"},
			&cli.Uint64Flag{Name: "data-seed", Value: 1, Usage: "data generation and split seed"},
		},
		Action: trainAction,
	}
}

// specFlags are the flags that describe the chain; they may not be mixed
// with a spec file.
var specFlags = []string{"data", "preset", "data-path", "train-size", "val-size", "test-size", "hidden", "activation",
	"method", "step-size", "tau", "gamma", "sigma-a", "epsilon", "xi0", "steps", "eval-every", "batch", "batch-fraction",
	"sampling", "seed", "data-seed"}

func trainAction(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("train: one spec file at most, got %d arguments", c.NArg())
	}
	var f *spec.File
	var err error
	if c.NArg() == 1 {
		for _, name := range specFlags {
			if c.IsSet(name) {
				return usageErrorf("train: --%s: give the chain either as a spec file or as flags, not both", name)
			}
		}
		if f, err = spec.Load(c.Args().First()); err != nil {
			return err
		}
	} else if f, err = specFromFlags(c); err != nil {
		return flagError(c, err)
	}
	reps, err := f.Expand(train.Resolve)
	if err != nil {
		if c.NArg() == 0 {
			return flagError(c, err)
		}
		return err
	}
	idx := c.Int("replica")
	switch {
	case idx < 0 && len(reps) == 1:
		idx = 0
	case idx < 0:
		return usageErrorf("train: %s expands to %d replicas; pick one with --replica 0..%d (or run the sweep with heatbath run)", f.Path, len(reps), len(reps)-1)
	case idx >= len(reps):
		return usageErrorf("train: --replica %d: the spec has replicas 0..%d", idx, len(reps)-1)
	}
	rep := reps[idx]
	var progress io.Writer = os.Stderr
	if c.Bool("quiet") {
		progress = nil
	}
	res, err := runReplica(c.Context, rep, c.String("out"), progress)
	if err != nil && c.NArg() == 0 {
		return loadFlagError(c, err)
	}
	if err != nil {
		return err
	}
	printResult(os.Stdout, c.String("out"), res)
	if res.Status == rundir.StatusDiverged {
		// A result, not a failure (exit status 0): the last line says so.
		fmt.Printf("the chain diverged at step %d (%s); its results up to there are in %s\n", res.DivergedAt, res.Error, c.String("out"))
	}
	return nil
}

func parseOptFloat(c *cli.Context, name string) (spec.Floats, error) {
	if !c.IsSet(name) {
		return nil, nil
	}
	var out spec.Floats
	for _, s := range strings.Split(c.String(name), ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, usageErrorf("--%s: %q is not a number", name, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// flagsSource is the file name of the spec that specFromFlags builds.
const flagsSource = "flags"

// fieldFlags maps the spec fields of a chain built from flags to the flags
// that set them, where the name is not the field's with '-' for '_'.
var fieldFlags = map[string]string{
	"h": "step-size", "lr": "step-size", "name": "method", "seeds": "seed",
	"data.kind": "data", "data.preset": "preset", "data.path": "data-path", "data.dir": "data-path",
	"data.train": "train-size", "data.validation": "val-size", "data.test": "test-size",
	"model.hidden": "hidden", "model.activation": "activation",
}

// flagOfField returns the name of the flag that sets the spec field: the
// one fieldFlags gives, else the field's with '-' for '_'.
func flagOfField(field string) string {
	if name, ok := fieldFlags[field]; ok {
		return name
	}
	return strings.ReplaceAll(field, "_", "-")
}

// flagError rewrites an error about a field of the spec that specFromFlags
// built into one about the flag behind it, as the user typed it
// ("--lr: -0.1 must be a positive step size"); a usage error (exit 2).
// Other errors are returned as they are.
func flagError(c *cli.Context, err error) error {
	var fe *spec.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := strings.TrimPrefix(fe.Field, "methods[0].")
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i] // model.hidden[1] is --hidden
	}
	name := flagOfField(field)
	if !hasFlag(c.Command, name) && fe.File == flagsSource {
		// A field no flag sets ("--method partitioned" without groups).
		return usageErrorf("train: %s: %s (no flag sets %s: give it in a spec file)", field, fe.Msg, field)
	}
	if !hasFlag(c.Command, name) {
		return err
	}
	return usageErrorf("%s: %s", typedFlag(c, name), fe.Msg)
}

// loadFlagError rewrites an error of building a chain from flags that
// starts with a spec field ("data.dir: MNIST folder x does not exist", from
// loading the data) into one naming the flag behind the field
// ("--data-path: ..."); the exit status stays that of an error. Other
// errors are returned as they are.
func loadFlagError(c *cli.Context, err error) error {
	if c.Context.Err() != nil {
		return err // interrupted: exitStatus reads the context
	}
	field, msg, ok := strings.Cut(err.Error(), ": ")
	name := flagOfField(field)
	if !ok || strings.ContainsAny(field, " /") || !hasFlag(c.Command, name) {
		return err
	}
	return fmt.Errorf("%s: %s", typedFlag(c, name), msg)
}

// hasFlag reports whether cmd has a flag called name.
func hasFlag(cmd *cli.Command, name string) bool { return findFlag(name, cmd.Flags) != nil }

// typedFlag returns the flag called name as the user wrote it on the
// command line ("--lr" for --step-size given as --lr), else "--name".
func typedFlag(c *cli.Context, name string) string {
	typed, _ := flagAsTyped(c, name)
	return typed
}

// flagAsTyped returns the flag called name as the user wrote it and true
// when it is on the command line, else "--name" and false.
func flagAsTyped(c *cli.Context, name string) (string, bool) {
	var names []string
	if f := findFlag(name, c.Command.Flags); f != nil {
		names = f.Names()
	}
	for _, a := range rawArgs(c) {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		typed, _, _ := strings.Cut(a, "=")
		if slices.Contains(names, strings.TrimLeft(typed, "-")) {
			return typed, true
		}
	}
	return "--" + name, false
}

// rawArgs returns the command line after the program name as typed: the
// root context's arguments.
func rawArgs(c *cli.Context) []string {
	var raw []string
	for _, l := range c.Lineage() {
		if args := l.Args().Slice(); len(args) > len(raw) {
			raw = args
		}
	}
	return raw
}

// specFromFlags builds the one-replica spec the flags describe.
func specFromFlags(c *cli.Context) (*spec.File, error) {
	var hidden []int
	for _, s := range strings.Split(c.String("hidden"), ",") {
		w, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, usageErrorf("--hidden: %q is not a layer width", s)
		}
		hidden = append(hidden, w)
	}
	m := spec.MethodSpec{Name: c.String("method"), H: spec.Floats{c.Float64("step-size")}}
	for _, p := range []struct {
		flag string
		dst  *spec.Floats
	}{{"tau", &m.Tau}, {"gamma", &m.Gamma}, {"sigma-a", &m.SigmaA}, {"epsilon", &m.Epsilon}, {"xi0", &m.Xi0}} {
		v, err := parseOptFloat(c, p.flag)
		if err != nil {
			return nil, err
		}
		if len(v) > 1 {
			return nil, usageErrorf("--%s: train runs one chain; give one value (sweeps take lists in a spec file)", p.flag)
		}
		*p.dst = v
	}
	s := spec.Spec{
		Name: "train",
		Data: protocol.DataConfig{Kind: c.String("data"), Preset: c.String("preset"),
			Train: c.Int("train-size"), Validation: c.Int("val-size"), Test: c.Int("test-size")},
		DataSeed:      c.Uint64("data-seed"),
		Model:         protocol.ModelConfig{Hidden: hidden, Activation: c.String("activation")},
		Steps:         c.Int64("steps"),
		EvalEvery:     c.Int64("eval-every"),
		Batch:         c.Int("batch"),
		BatchFraction: c.Float64("batch-fraction"),
		Sampling:      c.String("sampling"),
		Seeds:         spec.Seeds{c.Uint64("seed")},
		Methods:       []spec.MethodSpec{m},
	}
	if c.IsSet("batch-fraction") && !c.IsSet("batch") {
		s.Batch = 0
	}
	switch s.Data.Kind {
	case "csv":
		s.Data.Path = c.String("data-path")
	case "mnist":
		s.Data.Dir = c.String("data-path")
	}
	return spec.New(flagsSource, s)
}

// runReplica runs one replica in-process and writes its directory.
func runReplica(ctx context.Context, rep spec.Replica, dir string, progress io.Writer) (rundir.Result, error) {
	r, err := train.Build(rep.Config)
	if err != nil {
		return rundir.Result{}, err
	}
	r.ID = rep.ID // into the parameter files' metadata
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rundir.Result{}, err
	}
	info := rep.ReplicaInfo
	info.Config = r.Config // with the defaults filled in
	meta, err := rundir.EncodeReplicaInfo(&info)
	if err != nil {
		return rundir.Result{}, err
	}
	if err := rundir.WriteFile(filepath.Join(dir, rundir.FileReplica), meta); err != nil {
		return rundir.Result{}, err
	}
	tf, err := os.Create(filepath.Join(dir, rundir.FileTrajectory))
	if err != nil {
		return rundir.Result{}, err
	}
	defer tf.Close()
	tw, err := rundir.NewTrajectoryWriter(tf, r.Columns())
	if err != nil {
		return rundir.Result{}, err
	}
	bar := newBar(progress, r.Config.Steps)
	start := time.Now()
	chunk := max(r.Config.EvalEvery, 1000)
	for !r.Done() {
		if err := ctx.Err(); err != nil {
			tw.Flush()
			return rundir.Result{}, fmt.Errorf("train: interrupted at step %d; partial trajectory in %s (a chain of heatbath train does not resume: run the command again to start it over)", r.Chain.Steps(), dir)
		}
		if err := r.RunUntil(r.Chain.Steps()+chunk, tw.Write); err != nil {
			return rundir.Result{}, err
		}
		bar.update(r.Chain.Steps(), r.Last(), time.Since(start))
	}
	bar.finish()
	if err := tw.Flush(); err != nil {
		return rundir.Result{}, err
	}
	res := r.Result()
	res.ElapsedSeconds = time.Since(start).Seconds()
	if res.ElapsedSeconds > 0 {
		res.StepsPerSecond = float64(res.Steps) / res.ElapsedSeconds
	}
	if err := r.WriteArtifacts(dir, res); err != nil {
		return rundir.Result{}, err
	}
	return res, nil
}

// bar shows the progress of one chain: a line redrawn in place on a
// terminal, a line per 10% otherwise.
type bar struct {
	w        io.Writer
	tty      bool
	total    int64
	lastPct  int64
	lastDraw time.Time
}

func newBar(w io.Writer, total int64) *bar {
	b := &bar{w: w, total: total, lastPct: -1}
	if f, ok := w.(*os.File); ok {
		b.tty = terminalWidth(f) > 0
	}
	return b
}

func (b *bar) update(step int64, m train.Metrics, elapsed time.Duration) {
	if b.w == nil {
		return
	}
	pct := 100 * step / b.total
	speed := "-"
	eta := "-"
	if elapsed > 0 && step > 0 {
		r := float64(step) / elapsed.Seconds()
		speed = fmt.Sprintf("%.0f", r)
		left := float64(b.total-step) / r
		eta = duration(&left)
	}
	line := fmt.Sprintf("step %d/%d (%3d%%)  test acc %.3f  test loss %.4f  %s steps/s  ETA %s",
		step, b.total, pct, m.TestAcc, m.TestLoss, speed, eta)
	if b.tty {
		if time.Since(b.lastDraw) > 100*time.Millisecond || step == b.total {
			fmt.Fprintf(b.w, "\r\033[K%s", line)
			b.lastDraw = time.Now()
		}
		return
	}
	if pct/10 != b.lastPct/10 {
		fmt.Fprintln(b.w, line)
		b.lastPct = pct
	}
}

func (b *bar) finish() {
	if b.w != nil && b.tty {
		fmt.Fprintln(b.w)
	}
}

func fmtMetric(p *float64) string {
	if p == nil || math.IsNaN(*p) {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}

func printResult(w io.Writer, dir string, res rundir.Result) {
	fmt.Fprintf(w, "status %s after %d steps (%.0f steps/s)\n", res.Status, res.Steps, res.StepsPerSecond)
	fmt.Fprintf(w, "final: train acc %s  test acc %s  test loss %s\n", fmtMetric(res.Final.TrainAcc), fmtMetric(res.Final.TestAcc), fmtMetric(res.Final.TestLoss))
	fmt.Fprintf(w, "best by %s (step %d): test acc %s  test loss %s\n", res.BestBy, res.Best.Step, fmtMetric(res.Best.TestAcc), fmtMetric(res.Best.TestLoss))
	for _, g := range res.Groups {
		line := fmt.Sprintf("group %-7s %s", g.Name, g.Integrator)
		if spec.HasTemperature(g.Integrator) {
			// The temperature only where there is one: not for sgd,
			// momentum or adam.
			line = fmt.Sprintf("%-24s tau %.3g", line, g.Tau)
		}
		if g.TKinMean != nil {
			line += fmt.Sprintf("  mean T_kin %.3g", *g.TKinMean)
		}
		for k, v := range g.Xi {
			line += fmt.Sprintf("  xi[%s] %.3g", k, v)
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "results in %s\n", dir)
}
