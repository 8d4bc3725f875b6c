package sampler

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/heatbath/heatbath/internal/detmath"
)

// Exchange is the state of replica exchange over one temperature ladder.
// It is not safe for concurrent use.
//
// An Exchange keeps the bookkeeping of replica exchange (parallel
// tempering) over a temperature ladder τ₀ < τ₁ < … < τ_{K−1}: which chain
// sits at which rung, the swap random source, and the acceptance and
// round-trip counts. It does not run chains and computes no energies; the
// caller steps its K chains, evaluates their energies at swap times and
// calls Round, then moves each chain to its new rung with
// Chain.ExchangeTau.
//
// Round r proposes the adjacent pairs (k, k+1) with k ≡ r (mod 2): even
// pairs (0-1, 2-3, …) on even rounds, odd pairs (1-2, 3-4, …) on odd
// rounds (the deterministic even–odd scheme). With U_a, U_b the energies of
// the chains at rungs k and k+1 and δ = 1/τ_k − 1/τ_{k+1} > 0, the swap is
// accepted with probability min(1, exp(δ·(U_a − U_b))), which keeps the
// product distribution Π_k exp(−U/τ_k) invariant (detailed balance of the
// swap move). Temperatures are swapped, not parameters: each chain keeps
// its state and moves to the other rung.
//
// With minibatch energy estimates Û and the variance s² of the estimated
// difference Û_a − Û_b, the exponent is corrected as in replica-exchange
// SGLD (Deng, Feng, Gao, Liang, Lin, ICML 2020):
//
//	log a = δ·(Û_a − Û_b − δ·s²/(2F))
//
// Deng et al. write the correction δ·σ²/F with σ² the variance of each of
// the two (independent) estimators, whose difference has variance 2σ²;
// writing it with the variance of the difference, s² = 2σ², makes it
// s²/(2F). With Gaussian noise and F = 1, exp(log a) is an unbiased
// estimate of the exact ratio exp(δ(U_a − U_b)); F > 1 corrects less. The
// variance of the difference also covers the usual case of both chains
// evaluated on the same minibatch, whose errors are correlated.
//
// A proposal whose exponent is NaN (a diverged chain's energy) is
// rejected. One uniform number is drawn from the swap source per proposed
// pair, accepted or not, so the swap sequence depends only on the seeds
// and the energies.
type Exchange struct {
	taus    []float64
	rungOf  []int // chain → rung
	chainAt []int // rung → chain

	src *rand.PCG
	rng *rand.Rand

	round              int64
	proposed, accepted []int64 // per adjacent pair k (rungs k, k+1)
	lastEnd            []int8  // per chain: 0 none, 1 bottom rung, 2 top rung last visited
	trips              []int64 // per chain: completed bottom→top→bottom trips
	lastSwap           []bool  // per pair: accepted in the latest round
}

// NewExchange returns the bookkeeping for a ladder of K ≥ 2 strictly
// increasing, positive, finite temperatures. Chain i starts at rung i.
// seed1 and seed2 seed the swap random source.
func NewExchange(taus []float64, seed1, seed2 uint64) (*Exchange, error) {
	if err := ValidateLadder(taus); err != nil {
		return nil, err
	}
	k := len(taus)
	x := &Exchange{
		taus:     append([]float64(nil), taus...),
		rungOf:   make([]int, k),
		chainAt:  make([]int, k),
		src:      rand.NewPCG(seed1, seed2),
		proposed: make([]int64, k-1),
		accepted: make([]int64, k-1),
		lastEnd:  make([]int8, k),
		trips:    make([]int64, k),
		lastSwap: make([]bool, k-1),
	}
	x.rng = rand.New(x.src)
	for i := range x.rungOf {
		x.rungOf[i], x.chainAt[i] = i, i
	}
	x.visit()
	return x, nil
}

// ValidateLadder checks a temperature ladder: at least two rungs, every τ
// finite and positive, strictly increasing.
func ValidateLadder(taus []float64) error {
	if len(taus) < 2 {
		return fmt.Errorf("sampler: exchange ladder has %d temperatures, want at least 2", len(taus))
	}
	for i, t := range taus {
		if !(t > 0) || math.IsInf(t, 0) {
			return fmt.Errorf("sampler: exchange ladder temperature %d = %g must be finite and positive", i, t)
		}
		if i > 0 && !(t > taus[i-1]) {
			return fmt.Errorf("sampler: exchange ladder temperature %d = %g must be greater than temperature %d = %g", i, t, i-1, taus[i-1])
		}
	}
	return nil
}

// K returns the number of rungs (and chains).
func (x *Exchange) K() int { return len(x.taus) }

// Ladder returns the temperatures, coldest first. Do not modify.
func (x *Exchange) Ladder() []float64 { return x.taus }

// RungOf returns the rung chain i sits at.
func (x *Exchange) RungOf(i int) int { return x.rungOf[i] }

// ChainAt returns the chain sitting at rung k.
func (x *Exchange) ChainAt(k int) int { return x.chainAt[k] }

// TauOf returns the temperature of chain i.
func (x *Exchange) TauOf(i int) float64 { return x.taus[x.rungOf[i]] }

// Rounds returns the number of completed rounds.
func (x *Exchange) Rounds() int64 { return x.round }

// Proposed and Accepted return the numbers of proposed and accepted swaps
// between rungs k and k+1.
func (x *Exchange) Proposed(k int) int64 { return x.proposed[k] }

// Accepted returns the number of accepted swaps between rungs k and k+1.
func (x *Exchange) Accepted(k int) int64 { return x.accepted[k] }

// Swapped reports whether the pair (k, k+1) swapped in the latest round.
func (x *Exchange) Swapped(k int) bool { return x.lastSwap[k] }

// RoundTrips returns the number of round trips chain i has completed: a
// visit to the coldest rung, then to the hottest, then to the coldest
// again counts one.
func (x *Exchange) RoundTrips(i int) int64 { return x.trips[i] }

// LogAccept returns the logarithm of the swap ratio between a chain at
// temperature tauLo with energy uLo and one at tauHi with energy uHi:
// δ·(uLo − uHi − δ·diffVar/(2f)), δ = 1/tauLo − 1/tauHi. diffVar = 0
// gives the exact rule; diffVar > 0 is the variance of the estimated
// energy difference and f ≥ 1 the correction factor of Deng et al. (2020).
func LogAccept(tauLo, tauHi, uLo, uHi, diffVar, f float64) float64 {
	d := 1/tauLo - 1/tauHi
	if diffVar == 0 {
		return d * (uLo - uHi)
	}
	return d * (uLo - uHi - d*diffVar/(2*f))
}

// AcceptProb returns min(1, exp(logA)), and 0 for NaN.
func AcceptProb(logA float64) float64 {
	if math.IsNaN(logA) {
		return 0
	}
	if logA >= 0 {
		return 1
	}
	return detmath.Exp(logA)
}

// Round proposes the swaps of the current round (even pairs on even
// rounds, odd pairs on odd rounds) and updates the assignment. u[i] is the
// energy of chain i (indexed by chain, not rung). diffVar, if not nil,
// holds for each pair k the variance of the estimated energy difference
// between rungs k and k+1 (the minibatch criterion, correction factor f);
// nil selects the exact rule. Round returns the number of accepted swaps.
func (x *Exchange) Round(u []float64, diffVar []float64, f float64) (int, error) {
	k := len(x.taus)
	if len(u) != k {
		return 0, fmt.Errorf("sampler: exchange round got %d energies for %d chains", len(u), k)
	}
	if diffVar != nil && len(diffVar) != k-1 {
		return 0, fmt.Errorf("sampler: exchange round got %d pair variances for %d pairs", len(diffVar), k-1)
	}
	if diffVar != nil && !(f >= 1) {
		return 0, fmt.Errorf("sampler: exchange correction factor F = %g must be at least 1", f)
	}
	n := 0
	for j := range x.lastSwap {
		x.lastSwap[j] = false
	}
	for j := int(x.round % 2); j+1 < k; j += 2 {
		a, b := x.chainAt[j], x.chainAt[j+1]
		var v float64
		if diffVar != nil {
			v = diffVar[j]
			if !(v >= 0) {
				v = math.NaN() // an unknown variance rejects
			}
		}
		la := LogAccept(x.taus[j], x.taus[j+1], u[a], u[b], v, f)
		x.proposed[j]++
		r := x.rng.Float64()
		if r < AcceptProb(la) {
			x.chainAt[j], x.chainAt[j+1] = b, a
			x.rungOf[a], x.rungOf[b] = j+1, j
			x.accepted[j]++
			x.lastSwap[j] = true
			n++
		}
	}
	x.round++
	x.visit()
	return n, nil
}

// visit updates the round-trip counters after an assignment change.
func (x *Exchange) visit() {
	top := len(x.taus) - 1
	for i, r := range x.rungOf {
		switch {
		case r == 0:
			if x.lastEnd[i] == 2 {
				x.trips[i]++
			}
			x.lastEnd[i] = 1
		case r == top:
			x.lastEnd[i] = 2
		}
	}
}

// HasTau reports whether the integrator has a temperature.
func (k Kind) HasTau() bool { return k == SGLD || k == Overdamped || k == Langevin || k == Adaptive }

// Tau returns the base temperature shared by the chain's
// temperature-carrying groups (before schedules), or an error naming the
// groups if they differ or if there is none.
func (c *Chain) Tau() (float64, error) {
	var tau float64
	first := -1
	for i := range c.set.Groups {
		g := &c.set.Groups[i]
		if !g.Kind.HasTau() {
			continue
		}
		if first < 0 {
			first, tau = i, g.Tau
			continue
		}
		if g.Tau != tau {
			return 0, fmt.Errorf("sampler: groups %s (tau %g) and %s (tau %g) have different temperatures; one ladder sets them all", c.set.Groups[first].Name, tau, g.Name, g.Tau)
		}
	}
	if first < 0 {
		return 0, errors.New("sampler: no group has a temperature (sgld, overdamped, langevin or adaptive)")
	}
	return tau, nil
}

// SetTau sets the base temperature of every temperature-carrying group to
// tau and changes nothing else (before the first step it also sets the
// temperature Diag reports). It sets a chain's rung before it starts, and
// restores it after UnmarshalBinary (the chain checkpoint does not hold τ;
// the exchange set's does).
func (c *Chain) SetTau(tau float64) {
	for i := range c.set.Groups {
		g := &c.set.Groups[i]
		if g.Kind.HasTau() {
			g.Tau = tau
			if c.step == 0 {
				c.groups[i].tau = tau * g.Schedule.Factor(0)
			}
		}
	}
}

// ExchangeTau moves the chain to temperature tau after an accepted swap,
// with the thermostat bookkeeping of replica exchange, chosen so that a
// state in equilibrium at τ_old is mapped onto one in equilibrium at
// τ_new (then the swap of whole states between two chains is accepted on
// the configurational energies alone):
//
//   - Momenta of Langevin, Overdamped and Adaptive groups are scaled by
//     √(τ_new/τ_old). This maps N(0, τ_old) onto N(0, τ_new) exactly (the
//     velocity rescaling of Sugita & Okamoto's replica-exchange MD):
//     without it a chain moved to a colder rung would carry a kinetic
//     temperature τ_old into it and heat its configuration until the
//     friction removed it.
//   - Each thermostat variable ξ of an Adaptive group is mapped by
//     ξ ← c/τ_new + (ξ − c/τ_old)·√(τ_new/τ_old), where c is the
//     equilibrium value of ξ·τ. Adaptive Langevin leaves
//     exp(−U/τ − |p|²/(2τ) − (ξ − c/τ)²/(2ετ)) invariant, with
//     c = (σ_A² + the gradient-noise power)/2 independent of τ: ξ is
//     Gaussian around c/τ with variance ετ, and the map sends that
//     Gaussian at τ_old onto the one at τ_new. xiTau holds c, one value
//     per ξ in Diag order (adaptive groups in order, tensors in order):
//     σ_A²/2 when the gradient is exact. With minibatch gradients c is
//     not known; with nil it is taken as the current ξ·τ_old, so that
//     ξ ← ξ·τ_old/τ_new: the centre of ξ's distribution moves right
//     whatever the gradient noise, its spread does not.
//
// On the tilted double well of the package tests (exact gradients) the
// rule with c = σ_A²/2 keeps the cold rung's occupancy of the lower well
// within one standard error of the exact weight, ξ·τ_old/τ_new (nil)
// undershoots by about 3, and keeping ξ unchanged overshoots by about 5.
// Estimating c as the running mean of each chain's ξ·τ was tried and is
// unstable: a chain moved to a cold rung with a large estimate gets a
// large ξ, which keeps ξ·τ, and so the estimate, large.
//
// Groups without a temperature (SGD, Momentum, Adam) are left alone. tau
// is a rung of a ladder (finite and positive); a group whose temperature
// was 0, or a tau that is not positive, is set without rescaling. A
// xiTau of the wrong length is treated as nil.
func (c *Chain) ExchangeTau(tau float64, xiTau []float64) {
	if len(xiTau) != c.NumXi() {
		xiTau = nil
	}
	k0 := 0
	for i := range c.set.Groups {
		g := &c.set.Groups[i]
		nxi := len(c.groups[i].xi)
		if !g.Kind.HasTau() {
			k0 += nxi
			continue
		}
		old := g.Tau
		g.Tau = tau
		if !(old > 0) || !(tau > 0) || old == tau {
			k0 += nxi
			continue
		}
		r := math.Sqrt(tau / old)
		if g.Kind.HasMomentum() {
			for _, t := range g.Tensors {
				p := c.p[t.Off : t.Off+t.Len]
				for j := range p {
					p[j] *= r
				}
			}
		}
		xi := c.groups[i].xi
		for k := range xi {
			cst := xi[k] * old
			if xiTau != nil {
				cst = xiTau[k0+k]
			}
			xi[k] = cst/tau + float64((xi[k]-cst/old)*r) // no fused multiply-add (sampler's FMA rule)
		}
		k0 += nxi
	}
}

// NumXi returns the number of thermostat variables ξ (one per tensor of
// each Adaptive group).
func (c *Chain) NumXi() int {
	n := 0
	for i := range c.groups {
		n += len(c.groups[i].xi)
	}
	return n
}

const exchangeMagic = "HBEXCH01"

// MarshalBinary encodes the complete state: ladder, assignment, round,
// counters and the swap random source.
func (x *Exchange) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(exchangeMagic)
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	k := len(x.taus)
	w(uint64(k))
	w(x.taus)
	for _, r := range x.rungOf {
		w(int64(r))
	}
	w(x.round)
	w(x.proposed)
	w(x.accepted)
	w(x.lastEnd)
	w(x.trips)
	w(x.lastSwap)
	rs, err := x.src.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w(uint64(len(rs)))
	b.Write(rs)
	return b.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary into an
// Exchange created with the same ladder.
func (x *Exchange) UnmarshalBinary(data []byte) error {
	if !bytes.HasPrefix(data, []byte(exchangeMagic)) {
		return errors.New("sampler: not an exchange checkpoint (bad magic)")
	}
	r := bytes.NewReader(data[len(exchangeMagic):])
	var err error
	rd := func(v any) {
		if err == nil {
			err = binary.Read(r, binary.LittleEndian, v)
		}
	}
	var k uint64
	rd(&k)
	if err != nil {
		return fmt.Errorf("sampler: truncated exchange checkpoint: %w", err)
	}
	if k != uint64(len(x.taus)) {
		return fmt.Errorf("sampler: exchange checkpoint has %d rungs, the ladder %d: %w", k, len(x.taus), ErrStateMismatch)
	}
	n := int(k)
	taus := make([]float64, n)
	rungs := make([]int64, n)
	var round int64
	proposed, accepted := make([]int64, n-1), make([]int64, n-1)
	lastEnd, trips, lastSwap := make([]int8, n), make([]int64, n), make([]bool, n-1)
	var rsLen uint64
	rd(taus)
	rd(rungs)
	rd(&round)
	rd(proposed)
	rd(accepted)
	rd(lastEnd)
	rd(trips)
	rd(lastSwap)
	rd(&rsLen)
	if err != nil {
		return fmt.Errorf("sampler: truncated exchange checkpoint: %w", err)
	}
	for i := range taus {
		if taus[i] != x.taus[i] {
			return fmt.Errorf("sampler: exchange checkpoint temperature %d = %g, the ladder's %g: %w", i, taus[i], x.taus[i], ErrStateMismatch)
		}
	}
	chainAt := make([]int, n)
	seen := make([]bool, n)
	for i, rg := range rungs {
		if rg < 0 || rg >= int64(n) || seen[rg] {
			return fmt.Errorf("sampler: exchange checkpoint assigns chain %d to rung %d: not a permutation", i, rg)
		}
		seen[rg] = true
		chainAt[rg] = i
	}
	if rsLen != uint64(r.Len()) {
		return fmt.Errorf("sampler: exchange checkpoint random state has %d bytes, %d remain", rsLen, r.Len())
	}
	rs := make([]byte, rsLen)
	_, _ = r.Read(rs)
	if err := x.src.UnmarshalBinary(rs); err != nil {
		return fmt.Errorf("sampler: exchange checkpoint random state: %w", err)
	}
	for i, rg := range rungs {
		x.rungOf[i] = int(rg)
	}
	copy(x.chainAt, chainAt)
	x.round = round
	copy(x.proposed, proposed)
	copy(x.accepted, accepted)
	copy(x.lastEnd, lastEnd)
	copy(x.trips, trips)
	copy(x.lastSwap, lastSwap)
	return nil
}

// VarianceEMA smooths estimates of the variance of an energy difference
// over minibatches, as replica-exchange SGLD does: every few hundred steps
// the caller evaluates the difference on a handful of minibatches and
// passes their sample variance to Update, which keeps
// σ̂² ← (1 − w)·σ̂² + w·s² (the first estimate is taken as is).
type VarianceEMA struct {
	// W is the weight of a new estimate (Deng et al. use 0.2).
	W float64
	// Value is the current estimate; valid once Seen.
	Value float64
	// Seen reports whether any estimate has been folded in.
	Seen bool
}

// Update folds in the sample variance of the differences d (at least two
// values; fewer leave the estimate unchanged) and returns the estimate.
func (v *VarianceEMA) Update(d []float64) float64 {
	if len(d) < 2 {
		return v.Value
	}
	var m float64
	for _, x := range d {
		m += x
	}
	m /= float64(len(d))
	var s float64
	for _, x := range d {
		s += float64((x - m) * (x - m))
	}
	s /= float64(len(d) - 1)
	if !v.Seen {
		v.Value, v.Seen = s, true
	} else {
		v.Value = float64((1-v.W)*v.Value) + float64(v.W*s)
	}
	return v.Value
}
