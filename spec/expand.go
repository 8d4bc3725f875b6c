package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/heatbath/heatbath/protocol"
)

// MarshalYAML writes one value as a scalar and several as a list.
func (f Floats) MarshalYAML() (any, error) {
	if len(f) == 1 {
		return f[0], nil
	}
	return []float64(f), nil
}

// MarshalYAML writes an explicit ladder as a list and a generated one as a
// mapping.
func (l Ladder) MarshalYAML() (any, error) {
	if len(l.Values) > 0 {
		return l.Values, nil
	}
	return struct {
		From    float64 `yaml:"from"`
		To      float64 `yaml:"to"`
		N       int     `yaml:"n"`
		Spacing string  `yaml:"spacing,omitempty"`
	}{l.From, l.To, l.N, l.Spacing}, nil
}

// Replica is one point of the grid.
type Replica struct {
	protocol.ReplicaInfo
	// Source is the field path of the replica's method in the spec.
	Source string `json:"-"`
}

// Resolver completes and validates one replica configuration (package
// train's Resolve): it fills defaults and rejects configurations that can
// never run, naming the field.
type Resolver func(*protocol.ReplicaConfig) error

// temperatureKinds are the integrators whose groups have a temperature.
var temperatureKinds = map[string]bool{"sgld": true, "overdamped": true, "langevin": true, "adaptive": true,
	"lol": true, "adlala": true, "lala": true}

// Expand returns every replica of the spec in grid order: methods in file
// order; within a method, its list-valued hyperparameters (in field order,
// the last varying fastest); then temperatures; then schedules; then seeds.
// resolve, if not nil, is applied to every replica; its errors are reported
// at the method's position in the file.
func (f *File) Expand(resolve Resolver) ([]Replica, error) {
	s := &f.Spec
	seeds := s.Seeds
	if len(seeds) == 0 {
		seeds = Seeds{1}
	}
	var temps []float64
	if s.Temperatures != nil {
		var err error
		if temps, err = s.Temperatures.Temperatures(); err != nil {
			return nil, f.errorf("temperatures", "%v", err)
		}
	}
	labels := methodLabels(s.Methods)
	var out []Replica
	for mi := range s.Methods {
		m := &s.Methods[mi]
		src := fmt.Sprintf("methods[%d]", mi)
		axes := methodAxes(m)
		points := grid(axes)
		usesTemp := usesTemperature(m)
		tauAxis := []float64{-1}
		exchange := s.exchangeConfig(m, temps)
		if usesTemp && len(temps) > 0 && !setsTau(m) && exchange == nil {
			tauAxis = temps
		}
		schedAxis := []*protocol.ScheduleConfig{nil}
		if usesTemp && m.Schedule == nil && len(s.Schedules) > 0 {
			schedAxis = schedAxis[:0]
			for i := range s.Schedules {
				schedAxis = append(schedAxis, &s.Schedules[i])
			}
		}
		for _, pt := range points {
			for _, tau := range tauAxis {
				for si, sch := range schedAxis {
					for _, seed := range seeds {
						cfg := protocol.ReplicaConfig{
							Data: s.Data, Model: s.Model, Steps: s.Steps, EvalEvery: s.EvalEvery,
							Batch: s.Batch, BatchFraction: s.BatchFraction, Sampling: s.Sampling,
							Seed: seed, DataSeed: s.DataSeed,
						}
						cfg.Model.Hidden = append([]int(nil), s.Model.Hidden...)
						cfg.Data.Digits = append([]int(nil), s.Data.Digits...)
						settings := map[string]string{"method": labels[mi], "seed": strconv.FormatUint(seed, 10)}
						cfg.Method = buildMethod(m, axes, pt, settings)
						if tau >= 0 {
							applyLadder(&cfg.Method, tau)
							settings["tau"] = fmtFloat(tau)
						}
						if sch != nil {
							cfg.Method.Schedule = *sch
							settings["schedule"] = scheduleLabel(sch)
						}
						if exchange != nil {
							cfg.Exchange = exchange.Clone()
							settings["exchange"] = fmt.Sprintf("%d rungs", len(exchange.Ladder))
						}
						if resolve != nil {
							if err := resolve(&cfg); err != nil {
								if sch != nil {
									if fe := f.sweepScheduleError(si, err); fe != nil {
										return nil, fe
									}
								}
								return nil, f.resolveError(src, err)
							}
						}
						idx := len(out)
						out = append(out, Replica{ReplicaInfo: protocol.ReplicaInfo{
							ID:       fmt.Sprintf("r%04d-%s", idx, configHash(&cfg)),
							Index:    idx,
							Group:    groupKey(settings),
							Settings: settings,
							Seed:     seed,
							Config:   cfg,
						}, Source: src})
					}
				}
			}
		}
	}
	return out, nil
}

func methodLabels(ms []MethodSpec) []string {
	count := map[string]int{}
	out := make([]string, len(ms))
	for i, m := range ms {
		if m.Label != "" {
			out[i] = m.Label
			continue
		}
		count[m.Name]++
		out[i] = m.Name
		if count[m.Name] > 1 {
			out[i] = fmt.Sprintf("%s-%d", m.Name, count[m.Name])
		}
	}
	return out
}

type axis struct {
	name string // settings key, e.g. "h", "lr", "hidden.tau", "groups[1].gamma"
	vals Floats
	set  func(*protocol.MethodConfig, float64)
}

func methodAxes(m *MethodSpec) []axis {
	var ax []axis
	// The step size's axis is named as the spec wrote it: "lr" for a
	// method given lr (Adam, SGD), "h" otherwise.
	h, hName := m.H, "h"
	if len(m.LR) > 0 {
		h, hName = m.LR, "lr"
	}
	ax = append(ax, axis{hName, h, func(c *protocol.MethodConfig, v float64) { c.H = v }})
	add := func(prefix string, g *ParamSpec, get func(*protocol.MethodConfig) *protocol.GroupConfig) {
		for k, fl := range g.fields() {
			if len(*fl.v) == 0 {
				continue
			}
			ax = append(ax, axis{prefix + fl.name, *fl.v, func(c *protocol.MethodConfig, v float64) {
				*groupFields(get(c))[k] = protocol.Float(v)
			}})
		}
	}
	add("", &m.ParamSpec, func(c *protocol.MethodConfig) *protocol.GroupConfig { return &c.Params })
	add("hidden.", &m.Hidden.ParamSpec, func(c *protocol.MethodConfig) *protocol.GroupConfig { return &c.Hidden })
	add("output.", &m.Output.ParamSpec, func(c *protocol.MethodConfig) *protocol.GroupConfig { return &c.Output })
	for i := range m.Groups {
		i := i
		add(fmt.Sprintf("groups[%d].", i), &m.Groups[i].ParamSpec, func(c *protocol.MethodConfig) *protocol.GroupConfig { return &c.Groups[i] })
	}
	return ax
}

// groupFields lists the hyperparameters of a GroupConfig in the order of
// ParamSpec.fields.
func groupFields(g *protocol.GroupConfig) []**float64 {
	return []**float64{&g.Gamma, &g.Tau, &g.SigmaA, &g.Epsilon, &g.Xi0, &g.Momentum, &g.Beta1, &g.Beta2, &g.Eps}
}

// grid enumerates the cartesian product of the axes, the last axis varying
// fastest; each point holds one index per axis.
func grid(ax []axis) [][]int {
	points := [][]int{{}}
	for _, a := range ax {
		var next [][]int
		for _, p := range points {
			for i := range a.vals {
				q := append(append([]int(nil), p...), i)
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

func buildMethod(m *MethodSpec, ax []axis, pt []int, settings map[string]string) protocol.MethodConfig {
	c := protocol.MethodConfig{Name: m.Name}
	c.Hidden = protoGroup(&m.Hidden)
	c.Output = protoGroup(&m.Output)
	for i := range m.Groups {
		c.Groups = append(c.Groups, protoGroup(&m.Groups[i]))
	}
	if m.Schedule != nil {
		c.Schedule = *m.Schedule
	}
	if m.StepSchedule != nil {
		sc := *m.StepSchedule
		sc.Steps, sc.Values = append([]int64(nil), sc.Steps...), append([]float64(nil), sc.Values...)
		c.StepSchedule = &sc
	}
	if m.Cycle != nil {
		cy := *m.Cycle
		if cy.StepSize != nil {
			b := *cy.StepSize
			cy.StepSize = &b
		}
		c.Cycle = &cy
	}
	for i, a := range ax {
		v := a.vals[pt[i]]
		a.set(&c, v)
		if len(a.vals) > 1 {
			settings[a.name] = fmtFloat(v)
		}
	}
	return c
}

func protoGroup(g *GroupSpec) protocol.GroupConfig {
	out := protocol.GroupConfig{Tensors: append([]string(nil), g.Tensors...), Integrator: g.Integrator}
	if g.Schedule != nil {
		out.Schedule = *g.Schedule
	}
	return out
}

// applyLadder sets the method-level τ, which every temperature group
// inherits, unless the method's spec sets tau anywhere itself: such a
// method is not crossed with the ladder (see Expand).
func applyLadder(c *protocol.MethodConfig, tau float64) {
	c.Params.Tau = protocol.Float(tau)
}

// setsTau reports whether the method's spec gives a temperature itself.
func setsTau(m *MethodSpec) bool {
	if len(m.Tau) > 0 || len(m.Hidden.Tau) > 0 || len(m.Output.Tau) > 0 {
		return true
	}
	for _, g := range m.Groups {
		if len(g.Tau) > 0 {
			return true
		}
	}
	return false
}

func scheduleLabel(s *protocol.ScheduleConfig) string {
	switch s.Kind {
	case "", "constant":
		return "constant"
	case "piecewise", "step":
		var parts []string
		for i := range s.Steps {
			if i < len(s.Values) {
				parts = append(parts, fmt.Sprintf("%d:%s", s.Steps[i], fmtFloat(s.Values[i])))
			}
		}
		return "piecewise(" + strings.Join(parts, ";") + ")"
	}
	from := s.From
	if from == 0 {
		from = 1
	}
	end := "end"
	if s.End > 0 {
		end = strconv.FormatInt(s.End, 10)
	}
	return fmt.Sprintf("%s(%s>%s@%d-%s)", s.Kind, fmtFloat(from), fmtFloat(s.To), s.Start, end)
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func groupKey(settings map[string]string) string {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if k != "seed" {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		// method first, then alphabetical
		if (keys[i] == "method") != (keys[j] == "method") {
			return keys[i] == "method"
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + settings[k]
	}
	return strings.Join(parts, ",")
}

// methodScheduleRE matches the field of a Resolver's error about the
// temperature schedule of a method or of one of its groups
// ("method.schedule", "method.hidden.schedule"), with what follows.
var methodScheduleRE = regexp.MustCompile(`^method(?:\.[a-z_0-9]+)?\.schedule(?:\.([a-z_.]+))?: (?:([a-z_]+): )?(.*)$`)

// sweepScheduleError returns the Resolver's error err about a schedule
// that came from the sweep's schedules[i] as an error at that entry
// ("schedules[0].kind: ..."), nil when err is about something else.
func (f *File) sweepScheduleError(i int, err error) error {
	m := methodScheduleRE.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	field := fmt.Sprintf("schedules[%d]", i)
	for _, sub := range m[1:3] {
		if sub != "" {
			field += "." + sub
		}
	}
	return f.errorf(field, "%s", m[3])
}
