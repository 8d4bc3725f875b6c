package sampler

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/heatbath/heatbath/internal/detmath"
)

// Problem supplies the stochastic force. Grad writes the gradient of the
// minibatch loss L̃ at theta into grad (overwriting it) and returns L̃. Each
// call uses the next minibatch, so the chain calls it exactly once per step
// (and once more, on the first minibatch, before the first step).
type Problem struct {
	Grad func(grad, theta []float64) float64
}

// ErrDiverged is matched by every *DivergenceError (errors.Is).
var ErrDiverged = errors.New("sampler: diverged")

// DivergenceError reports that the loss or the state stopped being finite.
type DivergenceError struct {
	// Step is the number of steps completed when the NaN or Inf appeared
	// (0: already at the initial gradient).
	Step int64
	// What names the quantity: "loss", "parameters" or "momenta".
	What string
}

// Error implements error: "sampler: diverged at step N: WHAT not finite".
func (e *DivergenceError) Error() string {
	return fmt.Sprintf("sampler: diverged at step %d: %s not finite", e.Step, e.What)
}

// Is makes errors.Is(err, ErrDiverged) true.
func (e *DivergenceError) Is(target error) bool { return target == ErrDiverged }

// Chain is one trajectory of a partitioned integrator. It owns its state
// (parameters θ, momenta p, the latest gradient g, Adam's second moments,
// thermostat variables ξ) and its random source. A Chain is not safe for
// concurrent use; distinct chains share nothing.
//
// Every integrator uses one gradient evaluation per step. The palindromic
// schemes B_{h/2}∘X∘B_{h/2} are run in the merged-kick form of the authors'
// code (algorithms.md §2.2): one B_{h/2} on the first minibatch before the
// first step, then every step is X, a new gradient, B_h.
type Chain struct {
	set  Settings
	prob Problem

	theta, p, g, v []float64
	groups         []groupState

	src   *noiseSource // the noise's source (noise.go)
	noise []float64    // normals' buffer: min(n, noiseChunk) variates, capacity a multiple of 8
	rej   []uint8      // normals' rejection bits, one byte per eight variates
	acc   sumLanes     // the moves' partial sums of q² (in the chain: the loops are called through variables, so a local would escape)

	step   int64
	loss   float64
	primed bool
	err    error

	// The finiteness check: move and kick OR finiteBits of every θ and p
	// they write into thetaBad and pBad (bit 63 set: a value was not
	// finite); fixedTheta and fixedP are the ranges no step writes (θ and
	// p of parameters in no group, p of groups without momenta), checked
	// by a pass of their own.
	thetaBad, pBad     uint64
	fixedTheta, fixedP []Tensor

	fingerprint uint64
}

type groupState struct {
	n        int
	xi       []float64
	tau      float64 // τ(n) of the last step
	tkin     float64 // |p|²/N after the middle stage of the last step
	tkinSum  float64
	tkinN    int64
	tkinSeen bool
}

// New returns a chain started at a copy of theta0, with zero momenta and ξ
// at each adaptive group's Xi0. seed1 and seed2 seed the chain's
// noise source of nine xoshiro256++ streams (newNoiseSource).
func New(set Settings, theta0 []float64, prob Problem, seed1, seed2 uint64) (*Chain, error) {
	if prob.Grad == nil {
		return nil, errors.New("sampler: Problem.Grad is nil")
	}
	n := len(theta0)
	if err := set.Validate(n); err != nil {
		return nil, err
	}
	c := &Chain{
		set:   cloneSettings(set),
		prob:  prob,
		theta: append([]float64(nil), theta0...),
		p:     make([]float64, n),
		g:     make([]float64, n),
		src:   newNoiseSource(seed1, seed2),
		noise: make([]float64, min(n, noiseChunk), (min(n, noiseChunk)+7)&^7),
		rej:   make([]uint8, noiseChunk/8),
	}
	for _, g := range c.set.Groups {
		if g.Kind == Adam && c.v == nil {
			c.v = make([]float64, n)
		}
	}
	c.groups = make([]groupState, len(c.set.Groups))
	for i, g := range c.set.Groups {
		gs := &c.groups[i]
		for _, t := range g.Tensors {
			gs.n += t.Len
		}
		if g.Kind == Adaptive {
			gs.xi = make([]float64, len(g.Tensors))
			for k := range gs.xi {
				gs.xi[k] = g.Xi0
			}
		}
		gs.tau = g.Tau * g.Schedule.Factor(0)
	}
	c.fixedTheta, c.fixedP = fixedRanges(&c.set, n)
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%#v", n, c.set)
	c.fingerprint = h.Sum64()
	return c, nil
}

func cloneSettings(s Settings) Settings {
	out := Settings{H: s.H, Groups: make([]Group, len(s.Groups))}
	for i, g := range s.Groups {
		g.Tensors = append([]Tensor(nil), g.Tensors...)
		g.Schedule.Steps = append([]int64(nil), g.Schedule.Steps...)
		g.Schedule.Values = append([]float64(nil), g.Schedule.Values...)
		out.Groups[i] = g
	}
	return out
}

// Theta returns the current parameters. The slice is the chain's own: do
// not modify it.
func (c *Chain) Theta() []float64 { return c.theta }

// Momenta returns the current momenta (the heavy-ball buffer for Momentum,
// Adam's first moment for Adam). Do not modify.
func (c *Chain) Momenta() []float64 { return c.p }

// Steps returns the number of completed steps.
func (c *Chain) Steps() int64 { return c.step }

// Loss returns the minibatch loss of the latest gradient evaluation.
func (c *Chain) Loss() float64 { return c.loss }

// Err returns the error that stopped the chain, or nil.
func (c *Chain) Err() error { return c.err }

// Settings returns the chain's settings. Do not modify.
func (c *Chain) Settings() *Settings { return &c.set }

// GroupDiag is the state of one group after the last step.
type GroupDiag struct {
	Name string
	Kind Kind
	// N is the number of parameters in the group.
	N int
	// Tau is the temperature τ(n) used by the last step (schedule applied).
	Tau float64
	// TKin is |p|²/N measured after the middle stage of the last step (at
	// the E-step for Adaptive); TKinMean is its mean over the steps since
	// the start or the last ResetMeans. Both are NaN for groups without
	// physical momenta.
	TKin, TKinMean float64
	// Xi holds ξ per tensor for Adaptive groups (a view; do not modify).
	Xi []float64
}

// Diag returns the diagnostics of group i. It allocates nothing.
func (c *Chain) Diag(i int) GroupDiag {
	g, gs := &c.set.Groups[i], &c.groups[i]
	d := GroupDiag{Name: g.Name, Kind: g.Kind, N: gs.n, Tau: gs.tau, TKin: math.NaN(), TKinMean: math.NaN(), Xi: gs.xi}
	if g.Kind.HasMomentum() && gs.tkinSeen {
		d.TKin = gs.tkin
		if gs.tkinN > 0 {
			d.TKinMean = gs.tkinSum / float64(gs.tkinN)
		} else {
			d.TKinMean = gs.tkin
		}
	}
	return d
}

// ResetMeans restarts the running means of the kinetic temperatures (for
// example after a burn-in), without touching the dynamics.
func (c *Chain) ResetMeans() {
	for i := range c.groups {
		c.groups[i].tkinSum, c.groups[i].tkinN = 0, 0
	}
}

// NumGroups returns the number of groups.
func (c *Chain) NumGroups() int { return len(c.groups) }

func (c *Chain) prime() error {
	c.loss = c.prob.Grad(c.g, c.theta)
	c.primed = true
	if !isFinite(c.loss) {
		return c.fail("loss")
	}
	c.kick(c.set.H / 2) // B_{h/2} on the first minibatch
	return nil
}

// kick applies B_f to every group with momenta: p ← p − f·∇L̃(θ), using the
// latest gradient.
func (c *Chain) kick(f float64) {
	for i := range c.set.Groups {
		g := &c.set.Groups[i]
		if !g.Kind.HasMomentum() {
			continue
		}
		for _, t := range g.Tensors {
			c.pBad |= kick(c.p[t.Off:t.Off+t.Len], c.g[t.Off:t.Off+t.Len], f)
		}
	}
}

func (c *Chain) fail(what string) error {
	c.err = &DivergenceError{Step: c.step, What: what}
	return c.err
}

// Step advances the chain by one step: every group's gradient-free part,
// one gradient evaluation, every group's kick. It returns a
// *DivergenceError, and keeps returning it, once the loss, the parameters
// or the momenta stop being finite. It allocates nothing.
func (c *Chain) Step() error {
	if c.err != nil {
		return c.err
	}
	if !c.primed {
		if err := c.prime(); err != nil {
			return err
		}
	}
	n := c.step
	c.thetaBad, c.pBad = 0, 0
	for i := range c.set.Groups {
		c.move(i, n)
	}
	c.loss = c.prob.Grad(c.g, c.theta)
	c.kick(c.set.H) // B_h with ∇L̃(θ_{n+1})
	c.step++
	if !isFinite(c.loss) {
		return c.fail("loss")
	}
	if notFinite(c.thetaBad | rangesBits(c.theta, c.fixedTheta)) {
		return c.fail("parameters")
	}
	if notFinite(c.pBad | rangesBits(c.p, c.fixedP)) {
		return c.fail("momenta")
	}
	return nil
}

// move applies the gradient-free part of step n to group i, using the
// gradient g evaluated at θ_n. See the Kind constants for the update rules.
func (c *Chain) move(i int, n int64) {
	g, gs := &c.set.Groups[i], &c.groups[i]
	h := c.set.H
	tau := g.Tau * g.Schedule.Factor(n)
	gs.tau = tau
	var pp float64 // Σp² after the middle stage
	switch g.Kind {
	case SGD:
		for _, t := range g.Tensors {
			th, gr := c.theta[t.Off:t.Off+t.Len], c.g[t.Off:t.Off+t.Len]
			var bad uint64
			for j := range th {
				x := th[j] - float64(h*gr[j])
				th[j] = x
				bad |= finiteBits(x)
			}
			c.thetaBad |= bad
		}
		return
	case Momentum:
		mu := g.Momentum
		for _, t := range g.Tensors {
			th, gr, b := c.theta[t.Off:t.Off+t.Len], c.g[t.Off:t.Off+t.Len], c.p[t.Off:t.Off+t.Len]
			gr, b = gr[:len(th)], b[:len(th)]
			var tb, pb uint64
			for j := range th {
				q := float64(mu*b[j]) + gr[j]
				b[j] = q
				x := th[j] - float64(h*q)
				th[j] = x
				pb |= finiteBits(q)
				tb |= finiteBits(x)
			}
			c.thetaBad |= tb
			c.pBad |= pb
		}
		return
	case Adam:
		// PyTorch's single-tensor Adam: m ← m + (1−β₁)(g − m);
		// v ← β₂v + (1−β₂)g²; θ ← θ − (h/bc₁)·m/(√v/√bc₂ + ε),
		// bcᵢ = 1 − βᵢᵗ with t = n + 1.
		b1, b2, eps := g.Beta1, g.Beta2, g.Eps
		t := float64(n + 1)
		bc1 := 1 - detmath.Pow(b1, t)
		bc2s := math.Sqrt(1 - detmath.Pow(b2, t))
		step := h / bc1
		for _, ts := range g.Tensors {
			th, gr := c.theta[ts.Off:ts.Off+ts.Len], c.g[ts.Off:ts.Off+ts.Len]
			m, v := c.p[ts.Off:ts.Off+ts.Len], c.v[ts.Off:ts.Off+ts.Len]
			gr, m, v = gr[:len(th)], m[:len(th)], v[:len(th)]
			var tb, pb uint64
			for j := range th {
				mj := m[j] + float64((1-b1)*(gr[j]-m[j]))
				m[j] = mj
				v[j] = float64(b2*v[j]) + float64((1-b2)*gr[j]*gr[j])
				x := th[j] - step*mj/(math.Sqrt(v[j])/bc2s+eps)
				th[j] = x
				pb |= finiteBits(mj)
				tb |= finiteBits(x)
			}
			c.thetaBad |= tb
			c.pBad |= pb
		}
		return
	case SGLD:
		s := math.Sqrt(2 * h * tau)
		for _, t := range g.Tensors {
			for o := t.Off; o < t.Off+t.Len; o += len(c.noise) {
				th, gr := c.theta[o:min(o+len(c.noise), t.Off+t.Len)], c.g[o:]
				r := c.noise[:len(th)]
				c.normals(r)
				gr = gr[:len(th)]
				var bad uint64
				for j := range th {
					x := th[j] + (float64(-h*gr[j]) + float64(s*r[j]))
					th[j] = x
					bad |= finiteBits(x)
				}
				c.thetaBad |= bad
			}
		}
		return
	case Overdamped:
		// A_{h/2} O∞ A_{h/2}: θ ← θ + (h/2)p; p ← √τ·R; θ ← θ + (h/2)p.
		s := math.Sqrt(tau)
		acc := &c.acc
		*acc = sumLanes{}
		for _, t := range g.Tensors {
			for o := t.Off; o < t.Off+t.Len; o += len(c.noise) {
				th, p := c.theta[o:min(o+len(c.noise), t.Off+t.Len)], c.p[o:]
				r := c.noise[:len(th)]
				c.normals(r)
				c.thetaBad |= overdamped(th, p[:len(th)], r, h/2, s, acc)
			}
		}
		pp = acc.total()
	case Langevin:
		// A_{h/2} O_h A_{h/2} with O_h: p ← c·p + √((1−c²)τ)·R, c = e^{−γh}.
		cc := detmath.Exp(-g.Gamma * h)
		d := math.Sqrt((1 - float64(cc*cc)) * tau)
		acc := &c.acc
		*acc = sumLanes{}
		for _, t := range g.Tensors {
			for o := t.Off; o < t.Off+t.Len; o += len(c.noise) {
				th := c.theta[o:min(o+len(c.noise), t.Off+t.Len)]
				r := c.noise[:len(th)]
				c.normals(r)
				c.thetaBad |= langevin(th, c.p[o:o+len(th)], r, h/2, cc, d, acc)
			}
		}
		pp = acc.total()
	case Adaptive:
		// Per tensor k, A_{h/2} C_{h/2} D_{h/2} E_h D_{h/2} C_{h/2} A_{h/2}:
		//   C_f: p ← e^{−ξ f h} p;  D_f: p ← p + σ_A √(f h)·R;
		//   E_h: ξ ← ξ + ε h (pᵀp − N τ).
		s := g.SigmaA * math.Sqrt(h/2)
		eh := g.Epsilon * h
		for k, t := range g.Tensors {
			th, p := c.theta[t.Off:t.Off+t.Len], c.p[t.Off:t.Off+t.Len]
			p = p[:len(th)]
			e := detmath.Exp(-gs.xi[k] * h / 2)
			acc := &c.acc
			*acc = sumLanes{}
			for o := 0; o < len(th); o += len(c.noise) {
				th, p := th[o:min(o+len(c.noise), len(th))], p[o:]
				r := c.noise[:len(th)]
				c.normals(r)
				adaptiveFirst(th, p[:len(th)], r, h/2, e, s, acc)
			}
			sq := acc.total()
			gs.xi[k] += float64(eh * (sq - float64(float64(t.Len)*tau)))
			pp += sq
			e = detmath.Exp(-gs.xi[k] * h / 2)
			for o := 0; o < len(th); o += len(c.noise) {
				th, p := th[o:min(o+len(c.noise), len(th))], p[o:]
				r := c.noise[:len(th)]
				c.normals(r)
				c.thetaBad |= adaptiveSecond(th, p[:len(th)], r, h/2, e, s)
			}
		}
	}
	gs.tkin = pp / float64(gs.n)
	gs.tkinSum += gs.tkin
	gs.tkinN++
	gs.tkinSeen = true
}

// finiteBits maps x to a word whose bit 63 is set exactly when x is not
// finite: the exponent field, isolated, plus one unit of it carries into
// bit 63 only when the field is all ones (±Inf, NaN). OR-ing it over a loop
// costs the loop a dependency chain of one-cycle integer ORs (a float sum
// would chain four-cycle adds, and could overflow on finite values).
func finiteBits(x float64) uint64 {
	return math.Float64bits(x)&expMask + expOne
}

// expMask and expOne are finiteBits' exponent field and its unit (also the
// vector kernels' constants).
const expMask, expOne = 0x7ff0000000000000, 0x0010000000000000

// notFinite reports whether finiteBits flagged a value in the OR of bits.
func notFinite(bits uint64) bool { return bits>>63 != 0 }

// rangesBits ORs finiteBits over x's entries in the given ranges.
func rangesBits(x []float64, ranges []Tensor) uint64 {
	var bad uint64
	for _, t := range ranges {
		for _, v := range x[t.Off : t.Off+t.Len] {
			bad |= finiteBits(v)
		}
	}
	return bad
}

// fixedRanges returns the ranges of θ (in no group) and of p (in no group,
// or in a group whose kind writes no p: SGD, SGLD) that no step writes, in
// order, adjacent ranges merged. Settings are valid for n parameters.
func fixedRanges(set *Settings, n int) (theta, p []Tensor) {
	const (
		free = iota
		noP
		written
	)
	kind := make([]uint8, n)
	for _, g := range set.Groups {
		k := uint8(written)
		if g.Kind == SGD || g.Kind == SGLD {
			k = noP
		}
		for _, t := range g.Tensors {
			for i := t.Off; i < t.Off+t.Len; i++ {
				kind[i] = k
			}
		}
	}
	ranges := func(match func(uint8) bool) []Tensor {
		var out []Tensor
		for i := 0; i < n; {
			if !match(kind[i]) {
				i++
				continue
			}
			j := i
			for j < n && match(kind[j]) {
				j++
			}
			out = append(out, Tensor{Name: "fixed", Off: i, Len: j - i})
			i = j
		}
		return out
	}
	return ranges(func(k uint8) bool { return k == free }), ranges(func(k uint8) bool { return k != written })
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
