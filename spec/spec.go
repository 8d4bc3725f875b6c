// Package spec reads sweep specification files (YAML, strictly decoded) and
// expands them into replicas: one protocol.ReplicaConfig per point of the
// grid method × hyperparameters × temperature × schedule × seed.
//
// The same format serves `heatbath train` (a spec that expands to one
// replica, or one replica picked by index) and sweeps. The format is
// documented in docs/spec.md; examples live in examples/.
//
// Errors name the file, the line and the field:
//
//	sweep.yaml:7:5: methods[0].h: -0.1 must be a positive step size
package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/heatbath/heatbath/internal/suggest"
	"github.com/heatbath/heatbath/protocol"
)

// Floats is a hyperparameter that is either one number or a list of
// numbers; a list expands into the grid.
type Floats []float64

// UnmarshalYAML accepts a number or a sequence of numbers.
func (f *Floats) UnmarshalYAML(node ast.Node) error {
	switch n := node.(type) {
	case *ast.SequenceNode:
		out := make(Floats, 0, len(n.Values))
		for _, v := range n.Values {
			x, err := nodeFloat(v)
			if err != nil {
				return err
			}
			out = append(out, x)
		}
		if len(out) == 0 {
			return posErr(node, "an empty list has no values to sweep")
		}
		*f = out
		return nil
	default:
		x, err := nodeFloat(node)
		if err != nil {
			return err
		}
		*f = Floats{x}
		return nil
	}
}

func nodeFloat(n ast.Node) (float64, error) {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		x, err := strconv.ParseFloat(strings.ReplaceAll(n.String(), "_", ""), 64)
		if err != nil {
			return 0, posErr(n, fmt.Sprintf("%q is not a number", n.String()))
		}
		return x, nil
	case *ast.StringNode:
		// YAML 1.2 reads 1e-4 as a float, but some writers quote numbers.
		if x, err := strconv.ParseFloat(n.GetToken().Value, 64); err == nil {
			return x, nil
		}
	}
	return 0, posErr(n, fmt.Sprintf("%q is not a number (want a number or a list of numbers)", n.String()))
}

// positionError carries a source position so that Parse can print it.
type positionError struct {
	line, col int
	path, msg string
}

func (e *positionError) Error() string { return e.msg }

func posErr(n ast.Node, msg string) error {
	tk := n.GetToken()
	pe := &positionError{path: fieldPath(n.GetPath()), msg: msg}
	if tk != nil && tk.Position != nil {
		pe.line, pe.col = tk.Position.Line, tk.Position.Column
	}
	return pe
}

// Seeds is a seed count (seeds 1..n) or an explicit list.
type Seeds []uint64

// UnmarshalYAML accepts a positive count or a list of seeds.
func (s *Seeds) UnmarshalYAML(node ast.Node) error {
	switch n := node.(type) {
	case *ast.IntegerNode:
		c, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || c < 1 || c > 1_000_000 {
			return posErr(node, fmt.Sprintf("%s must be a seed count between 1 and 1000000, or a list of seeds", n.String()))
		}
		out := make(Seeds, c)
		for i := range out {
			out[i] = uint64(i + 1)
		}
		*s = out
		return nil
	case *ast.SequenceNode:
		out := make(Seeds, 0, len(n.Values))
		seen := map[uint64]bool{}
		for _, v := range n.Values {
			x, err := strconv.ParseUint(v.String(), 10, 64)
			if err != nil {
				return posErr(v, fmt.Sprintf("%q is not a non-negative integer seed", v.String()))
			}
			if seen[x] {
				return posErr(v, fmt.Sprintf("seed %d is listed twice", x))
			}
			seen[x] = true
			out = append(out, x)
		}
		if len(out) == 0 {
			return posErr(node, "an empty seed list runs nothing")
		}
		*s = out
		return nil
	}
	return posErr(node, fmt.Sprintf("%q: want a seed count or a list of seeds", node.String()))
}

// Ladder is the temperature ladder: an explicit list, or n points from From
// to To with geometric (default) or linear spacing.
type Ladder struct {
	Values  []float64
	From    float64 `yaml:"from"`
	To      float64 `yaml:"to"`
	N       int     `yaml:"n"`
	Spacing string  `yaml:"spacing"`
}

// UnmarshalYAML accepts a list of temperatures or a {from, to, n, spacing}
// mapping.
func (l *Ladder) UnmarshalYAML(node ast.Node) error {
	if _, ok := node.(*ast.MappingNode); ok {
		type plain struct {
			From    float64 `yaml:"from"`
			To      float64 `yaml:"to"`
			N       int     `yaml:"n"`
			Spacing string  `yaml:"spacing"`
		}
		var p plain
		if err := yaml.NodeToValue(node, &p, yaml.Strict()); err != nil {
			return err
		}
		l.From, l.To, l.N, l.Spacing = p.From, p.To, p.N, p.Spacing
		return nil
	}
	var f Floats
	if err := f.UnmarshalYAML(node); err != nil {
		return err
	}
	l.Values = f
	return nil
}

// Temperatures returns the ladder's values.
func (l *Ladder) Temperatures() ([]float64, error) {
	if len(l.Values) > 0 {
		return l.Values, nil
	}
	if l.N < 1 {
		return nil, fmt.Errorf("n = %d must be at least 1", l.N)
	}
	if l.N == 1 {
		return []float64{l.From}, nil
	}
	out := make([]float64, l.N)
	switch l.Spacing {
	case "", "geometric", "log":
		if !(l.From > 0 && l.To > 0) {
			return nil, fmt.Errorf("geometric spacing needs from and to > 0 (from = %g, to = %g)", l.From, l.To)
		}
		for i := range out {
			// Rounded to 12 significant digits, so that 1e-8·1e4^(3/4)
			// reads 1e-05 in labels, not 9.999999999999997e-06.
			v := l.From * math.Pow(l.To/l.From, float64(i)/float64(l.N-1))
			out[i], _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
		}
	case "linear":
		for i := range out {
			out[i] = l.From + (l.To-l.From)*float64(i)/float64(l.N-1)
		}
	default:
		return nil, fmt.Errorf("spacing = %s", suggest.Unknown(l.Spacing, []string{"geometric", "linear"}))
	}
	return out, nil
}

// ParamSpec holds the sweepable numeric hyperparameters of a group.
type ParamSpec struct {
	Gamma    Floats `yaml:"gamma"`
	Tau      Floats `yaml:"tau"`
	SigmaA   Floats `yaml:"sigma_a"`
	Epsilon  Floats `yaml:"epsilon"`
	Xi0      Floats `yaml:"xi0"`
	Momentum Floats `yaml:"momentum"`
	Beta1    Floats `yaml:"beta1"`
	Beta2    Floats `yaml:"beta2"`
	Eps      Floats `yaml:"eps"`
}

// GroupSpec is protocol.GroupConfig with sweepable hyperparameters.
type GroupSpec struct {
	Tensors    []string `yaml:"tensors"`
	Integrator string   `yaml:"integrator"`
	ParamSpec  `yaml:",inline"`
	Schedule   *protocol.ScheduleConfig `yaml:"schedule"`
}

// MethodSpec is protocol.MethodConfig with sweepable hyperparameters. The
// hyperparameters written at method level (tau, gamma, ...) are those of a
// single method, and the defaults of every group of a preset or partition.
type MethodSpec struct {
	// Name is the method (see protocol.MethodConfig.Name).
	Name string `yaml:"name"`
	// Label names the method in reports; default Name (Name-2, Name-3, …
	// when a name repeats).
	Label string `yaml:"label"`
	// H is the step size (or learning rate); LR is accepted as an alias.
	H         Floats `yaml:"h"`
	LR        Floats `yaml:"lr"`
	ParamSpec `yaml:",inline"`
	Hidden    GroupSpec                `yaml:"hidden"`
	Output    GroupSpec                `yaml:"output"`
	Groups    []GroupSpec              `yaml:"groups"`
	Schedule  *protocol.ScheduleConfig `yaml:"schedule"`
	// StepSchedule multiplies the step size over time; Cycle is a
	// cyclical schedule (protocol.MethodConfig).
	StepSchedule *protocol.ScheduleConfig `yaml:"step_schedule"`
	Cycle        *protocol.CycleConfig    `yaml:"cycle"`
}

// CheckpointSpec sets how often workers checkpoint a running replica.
type CheckpointSpec struct {
	Every   int64   `yaml:"every"`
	Seconds float64 `yaml:"seconds"`
}

// Spec is a sweep specification file.
type Spec struct {
	Name          string                    `yaml:"name"`
	Data          protocol.DataConfig       `yaml:"data"`
	DataSeed      uint64                    `yaml:"data_seed"`
	Model         protocol.ModelConfig      `yaml:"model"`
	Steps         int64                     `yaml:"steps"`
	EvalEvery     int64                     `yaml:"eval_every"`
	Batch         int                       `yaml:"batch"`
	BatchFraction float64                   `yaml:"batch_fraction"`
	Sampling      string                    `yaml:"sampling"`
	Seeds         Seeds                     `yaml:"seeds"`
	Methods       []MethodSpec              `yaml:"methods"`
	Temperatures  *Ladder                   `yaml:"temperatures"`
	Schedules     []protocol.ScheduleConfig `yaml:"schedules"`
	Checkpoint    CheckpointSpec            `yaml:"checkpoint"`
	// Exchange runs the temperatures as exchange sets (spec/exchange.go).
	Exchange *ExchangeSpec `yaml:"exchange"`
	// Prune stops replicas early by successive halving (spec/prune.go).
	Prune *PruneSpec `yaml:"prune"`
	// ProgressEvery is the number of steps between progress events
	// (default: eval_every).
	ProgressEvery int64 `yaml:"progress_every"`
}

// File is a parsed spec with the source it came from, so that later
// errors can point at lines.
type File struct {
	Path string
	Spec Spec
	ast  *ast.File
}

// Load reads and parses a spec file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec file %s", fileProblem(path, err))
	}
	f, err := Parse(path, b)
	if err != nil {
		return nil, err
	}
	// Data files are named relative to the spec file.
	if err := f.hashData(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return f, nil
}

// Parse decodes a spec strictly: unknown keys, duplicate keys and wrong
// types are errors that name the file, line and field.
func Parse(path string, src []byte) (*File, error) {
	f := &File{Path: path}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, fmt.Errorf("%s: empty spec file", path)
	}
	af, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, f.wrap(err)
	}
	f.ast = af
	if err := yaml.UnmarshalWithOptions(src, &f.Spec, yaml.Strict()); err != nil {
		return nil, f.wrap(err)
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

var posPrefix = regexp.MustCompile(`^\[(\d+):(\d+)\]\s*`)

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// wrap turns a decoder error into a *FieldError ("file:line:col: field:
// message") when it concerns a field, else "file:line:col: message".
func (f *File) wrap(err error) error {
	var pe *positionError
	if asPos(err, &pe) {
		return &FieldError{File: f.Path, Line: pe.line, Col: pe.col, Field: pe.path, Msg: pe.msg}
	}
	if fe, ok := f.decodeError(err); ok {
		return fe
	}
	msg := oneLine(yaml.FormatError(err, false, false))
	if m := posPrefix.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s:%s: %s", f.Path, m[1], m[2], msg[len(m[0]):])
	}
	return fmt.Errorf("%s: %s", f.Path, msg)
}

func asPos(err error, target **positionError) bool {
	for err != nil {
		if pe, ok := err.(*positionError); ok {
			*target = pe
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// fieldPath turns a YAML path ("$.methods[0].h") into a field name
// ("methods[0].h").
func fieldPath(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
}

// At returns "file:line:col: field" for a field path like "methods[0].h",
// or "file: field" when the field is not in the file (a default).
func (f *File) At(field string) string {
	if line, col := f.locate(field); line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", f.Path, line, col, field)
	}
	return fmt.Sprintf("%s: %s", f.Path, field)
}

// locate returns the line and column of a field path in the file, or of
// its nearest parent when the field is absent; 0, 0 when neither is in
// the file.
func (f *File) locate(field string) (line, col int) {
	if f.ast == nil {
		return 0, 0
	}
	if p, err := yaml.PathString("$." + field); err == nil {
		if n, err := p.FilterFile(f.ast); err == nil && n != nil {
			if tk := n.GetToken(); tk != nil && tk.Position != nil {
				return tk.Position.Line, tk.Position.Column
			}
		}
	}
	if i := strings.LastIndexAny(field, ".["); i > 0 {
		return f.locate(field[:i])
	}
	return 0, 0
}

// errorf returns a *FieldError about field, located in the file.
func (f *File) errorf(field, format string, args ...any) error {
	line, col := f.locate(field)
	return &FieldError{File: f.Path, Line: line, Col: col, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// check validates what can be validated without knowing the network or
// the data: ranges of sweep-level values and of every hyperparameter.
func (f *File) check() error {
	s := &f.Spec
	if s.Name == "" {
		return f.errorf("name", "missing: every spec needs a name")
	}
	if !tokenRE.MatchString(s.Name) {
		return f.errorf("name", "%q may hold only letters, digits, '-' and '_' (at most 64)", s.Name)
	}
	if s.Steps <= 0 {
		return f.errorf("steps", "%d must be a positive number of steps", s.Steps)
	}
	if s.EvalEvery < 0 {
		return f.errorf("eval_every", "%d must not be negative", s.EvalEvery)
	}
	if s.Batch < 0 {
		return f.errorf("batch", "%d must not be negative", s.Batch)
	}
	if s.BatchFraction < 0 || s.BatchFraction > 1 {
		return f.errorf("batch_fraction", "%g must lie in (0, 1]", s.BatchFraction)
	}
	if s.Batch == 0 && s.BatchFraction == 0 {
		return f.errorf("batch", "missing: give batch (a count) or batch_fraction")
	}
	if s.Batch > 0 && s.BatchFraction > 0 {
		return f.errorf("batch_fraction", "give batch or batch_fraction, not both")
	}
	switch s.Sampling {
	case "", "reshuffle", "replacement":
	default:
		return f.errorf("sampling", "%s", suggest.Unknown(s.Sampling, []string{"reshuffle", "replacement"}))
	}
	if len(s.Methods) == 0 {
		return f.errorf("methods", "missing: list at least one method")
	}
	if s.Checkpoint.Every < 0 {
		return f.errorf("checkpoint.every", "%d must not be negative", s.Checkpoint.Every)
	}
	if s.Checkpoint.Seconds < 0 {
		return f.errorf("checkpoint.seconds", "%g must not be negative", s.Checkpoint.Seconds)
	}
	if s.ProgressEvery < 0 {
		return f.errorf("progress_every", "%d must not be negative", s.ProgressEvery)
	}
	if s.Temperatures != nil {
		ts, err := s.Temperatures.Temperatures()
		if err != nil {
			return f.errorf("temperatures", "%v", err)
		}
		for i, t := range ts {
			if !(t >= 0) || math.IsInf(t, 0) {
				return f.errorf(fmt.Sprintf("temperatures[%d]", i), "%g must be a finite non-negative temperature", t)
			}
		}
	}
	if err := f.checkExchange(); err != nil {
		return err
	}
	if err := f.checkPrune(); err != nil {
		return err
	}
	for i, m := range s.Methods {
		base := fmt.Sprintf("methods[%d]", i)
		if m.Name == "" {
			return f.errorf(base+".name", "missing")
		}
		if len(m.H) > 0 && len(m.LR) > 0 {
			return f.errorf(base+".lr", "give h or lr, not both")
		}
		if len(m.H) == 0 && len(m.LR) == 0 {
			return f.errorf(base+".h", "missing: the step size (or lr)")
		}
		hs, hf := m.H, base+".h"
		if len(m.LR) > 0 {
			hs, hf = m.LR, base+".lr"
		}
		for _, h := range hs {
			if !(h > 0) || math.IsInf(h, 0) {
				return f.errorf(hf, "%g must be a positive step size", h)
			}
		}
		groups := []struct {
			name string
			g    *ParamSpec
		}{{base, &s.Methods[i].ParamSpec}, {base + ".hidden", &s.Methods[i].Hidden.ParamSpec}, {base + ".output", &s.Methods[i].Output.ParamSpec}}
		for j := range m.Groups {
			groups = append(groups, struct {
				name string
				g    *ParamSpec
			}{fmt.Sprintf("%s.groups[%d]", base, j), &s.Methods[i].Groups[j].ParamSpec})
		}
		for _, gs := range groups {
			for _, fl := range gs.g.fields() {
				for _, v := range *fl.v {
					if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
						return f.errorf(gs.name+"."+fl.name, "%g must be finite and non-negative", v)
					}
				}
			}
		}
	}
	return nil
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

type namedFloats struct {
	name string
	v    *Floats
}

func (g *ParamSpec) fields() []namedFloats {
	return []namedFloats{
		{"gamma", &g.Gamma}, {"tau", &g.Tau}, {"sigma_a", &g.SigmaA}, {"epsilon", &g.Epsilon}, {"xi0", &g.Xi0},
		{"momentum", &g.Momentum}, {"beta1", &g.Beta1}, {"beta2", &g.Beta2}, {"eps", &g.Eps},
	}
}

// Field returns the hyperparameter of g whose YAML key is name ("gamma",
// "sigma_a", ...), nil for none.
func (g *ParamSpec) Field(name string) *Floats {
	for _, f := range g.fields() {
		if f.name == name {
			return f.v
		}
	}
	return nil
}

// Canonical returns the spec re-encoded as YAML in a fixed order with the
// sweep-level defaults filled in; Hash is computed over it.
func (f *File) Canonical() []byte { return canonical(f.Spec) }

func canonical(s Spec) []byte {
	if s.Sampling == "" {
		s.Sampling = "reshuffle"
	}
	b, err := yaml.MarshalWithOptions(s, yaml.OmitEmpty())
	if err != nil {
		// Every field type of Spec is encodable; this is a programming error.
		panic("spec: cannot encode canonical spec: " + err.Error())
	}
	return b
}

// Hash is the hex SHA-256 of the canonical spec, in which a data file
// known by its content hash is named by the hash and not by its path.
func (f *File) Hash() string {
	s := f.Spec
	s.Data = identityData(s.Data)
	h := sha256.Sum256(canonical(s))
	return hex.EncodeToString(h[:])
}

// SweepID is the spec's name and the first 8 hex digits of its hash: the
// same spec always gets the same id, and a changed spec a new one.
func (f *File) SweepID() string { return f.Spec.Name + "-" + f.Hash()[:8] }

func configHash(c *protocol.ReplicaConfig) string {
	id := *c
	id.Data = identityData(c.Data)
	b, _ := json.Marshal(&id)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:4])
}

// New checks a spec built in code (for example from command-line flags)
// as Parse checks a file; errors name path and the field.
func New(path string, s Spec) (*File, error) {
	f := &File{Path: path, Spec: s}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}
