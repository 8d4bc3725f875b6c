package sampler

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSwapDetailedBalanceDiscrete checks the swap move on a small discrete
// case: three rungs, each chain in one of three states with known
// energies. Exactly: for every pair of rung-indexed configurations x, y and
// for even and odd rounds, π(x)·P(x→y) = π(y)·P(y→x) with π the product of
// the rungs' Boltzmann distributions and P built from AcceptProb(LogAccept).
// By simulation: configurations drawn from π and passed through Round
// (which assigns chains to rungs) are still distributed as π, every
// configuration's frequency within 5 standard errors.
func TestSwapDetailedBalanceDiscrete(t *testing.T) {
	taus := []float64{0.7, 1.5, 4}
	energy := []float64{0, 1, 2.5}
	const ns = 3
	// π over rung-indexed configurations c = s0 + 3 s1 + 9 s2.
	pi := make([]float64, 27)
	var z float64
	for c := range pi {
		s := [3]int{c % 3, c / 3 % 3, c / 9}
		w := 1.0
		for k := 0; k < 3; k++ {
			w *= math.Exp(-energy[s[k]] / taus[k])
		}
		pi[c] = w
		z += w
	}
	for c := range pi {
		pi[c] /= z
	}
	enc := func(s [3]int) int { return s[0] + 3*s[1] + 9*s[2] }
	for parity := 0; parity < 2; parity++ {
		// P[x][y] for the pair (parity, parity+1).
		var P [27][27]float64
		k := parity
		for c := 0; c < 27; c++ {
			s := [3]int{c % 3, c / 3 % 3, c / 9}
			a := AcceptProb(LogAccept(taus[k], taus[k+1], energy[s[k]], energy[s[k+1]], 0, 1))
			sw := s
			sw[k], sw[k+1] = s[k+1], s[k]
			P[c][enc(sw)] += a
			P[c][c] += 1 - a
		}
		for x := 0; x < 27; x++ {
			for y := 0; y < 27; y++ {
				if d := pi[x]*P[x][y] - pi[y]*P[y][x]; math.Abs(d) > 1e-15 {
					t.Fatalf("parity %d: detailed balance broken between %d and %d: π(x)P(x→y) − π(y)P(y→x) = %g", parity, x, y, d)
				}
			}
		}
	}

	// Simulation through Round.
	x, err := NewExchange(taus, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	src := rand.New(rand.NewPCG(5, 6))
	cdf := make([]float64, 27)
	acc := 0.0
	for c := range pi {
		acc += pi[c]
		cdf[c] = acc
	}
	const n = 300000
	counts := make([]float64, 27)
	u := make([]float64, 3)
	for it := 0; it < n; it++ {
		r := src.Float64()
		c := 0
		for c < 26 && r >= cdf[c] {
			c++
		}
		s := [3]int{c % 3, c / 3 % 3, c / 9}
		for rung := 0; rung < 3; rung++ {
			u[x.ChainAt(rung)] = energy[s[rung]]
		}
		if _, err := x.Round(u, nil, 1); err != nil {
			t.Fatal(err)
		}
		var after [3]int
		for rung := 0; rung < 3; rung++ {
			e := u[x.ChainAt(rung)]
			for st := 0; st < ns; st++ {
				if energy[st] == e {
					after[rung] = st
				}
			}
		}
		counts[enc(after)]++
	}
	for c := range pi {
		f := counts[c] / n
		se := math.Sqrt(pi[c] * (1 - pi[c]) / n)
		if math.Abs(f-pi[c]) > 5*se {
			t.Errorf("configuration %d after a swap round: frequency %.5f, product distribution %.5f (5 s.e. = %.5f)", c, f, pi[c], 5*se)
		}
	}
	for k := 0; k < 2; k++ {
		if x.Accepted(k) == 0 || x.Accepted(k) == x.Proposed(k) {
			t.Errorf("pair %d: %d of %d accepted; the test needs both outcomes", k, x.Accepted(k), x.Proposed(k))
		}
	}
}

// doubleWell is U(x) = (x² − 1)² + a·x: two wells near ±1, the left one
// lower by about 2a.
type doubleWell struct{ a float64 }

func (d doubleWell) u(x float64) float64 { return (x*x-1)*(x*x-1) + d.a*x }

func (d doubleWell) problem() Problem {
	return Problem{Grad: func(grad, theta []float64) float64 {
		x := theta[0]
		grad[0] = 4*x*(x*x-1) + d.a
		return d.u(x)
	}}
}

// leftWeight returns ∫_{x<0} e^{−U/τ} / ∫ e^{−U/τ} by Simpson's rule on
// [−3, 3] (the integrand is below e^{−60/τ·…} outside).
func (d doubleWell) leftWeight(tau float64) float64 {
	const n = 200000
	hx := 6.0 / n
	var left, all float64
	for i := 0; i <= n; i++ {
		x := -3 + float64(i)*hx
		w := 2.0
		switch {
		case i == 0 || i == n:
			w = 1
		case i%2 == 1:
			w = 4
		}
		f := w * math.Exp(-d.u(x)/tau)
		all += f
		if i < n/2 {
			left += f
		} else if i == n/2 {
			left += f / 2
		}
	}
	return left / all
}

// runLadder runs K one-dimensional chains on the double well, all started
// in the upper (right) well, with swap rounds every `every` steps (never if
// every is 0), and returns the fraction of steps the coldest rung spent in
// the left well and its standard error from 50 batch means.
//
// xiTau is passed to ExchangeTau: the equilibrium ξ·τ of adaptive groups,
// or nil.
func runLadder(t *testing.T, kind Kind, dw doubleWell, taus []float64, steps, every int, xiTau []float64) (frac, se float64, x *Exchange) {
	t.Helper()
	k := len(taus)
	chains := make([]*Chain, k)
	for i := range chains {
		g := Group{Name: "x", Tensors: whole(1), Kind: kind, Tau: taus[i], Gamma: 1, SigmaA: 0.3, Epsilon: 1} // σ_A as in the caller's sigmaA
		h := 0.05
		if kind == Overdamped {
			h = 0.3 // the LM scheme moves δ = h²/2 per step
		}
		chains[i] = mustChain(t, Settings{H: h, Groups: []Group{g}}, []float64{1}, dw.problem(), uint64(100+i))
	}
	x, err := NewExchange(taus, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	const batches = 50
	per := steps / batches
	var sum, sumSq float64
	u := make([]float64, k)
	for b := 0; b < batches; b++ {
		var in float64
		for s := 0; s < per; s++ {
			for _, c := range chains {
				if err := c.Step(); err != nil {
					t.Fatal(err)
				}
			}
			if every > 0 && (b*per+s+1)%every == 0 {
				for i, c := range chains {
					u[i] = dw.u(c.Theta()[0])
				}
				if _, err := x.Round(u, nil, 1); err != nil {
					t.Fatal(err)
				}
				for i, c := range chains {
					if tau := x.TauOf(i); tau != c.Settings().Groups[0].Tau {
						c.ExchangeTau(tau, xiTau)
					}
				}
			}
			if chains[x.ChainAt(0)].Theta()[0] < 0 {
				in++
			}
		}
		m := in / float64(per)
		sum += m
		sumSq += m * m
	}
	mean := sum / batches
	v := (sumSq/batches - mean*mean) * batches / (batches - 1)

	return mean, math.Sqrt(v / batches), x
}

// TestExchangeDoubleWellOccupancy runs five chains on the tilted double
// well U = (x²−1)² + 0.05x at τ = 0.05 … 0.8, all started in the upper
// well. With exchange every 10 steps the coldest rung's occupancy of the
// lower well matches the exact Boltzmann weight (quadrature) within 4
// batch-means standard errors plus 0.01 for the O(h²) discretization bias;
// without exchange the cold chain (barrier 18 τ) never leaves the upper
// well. Run for Langevin (momenta rescaled at swaps), adaptive Langevin
// (momenta rescaled and ξ mapped with the exact equilibrium ξ·τ = σ_A²/2,
// and with the fallback ξ·τ_old/τ_new), the overdamped LM scheme and SGLD.
func TestExchangeDoubleWellOccupancy(t *testing.T) {
	dw := doubleWell{a: 0.05}
	taus := []float64{0.05, 0.1, 0.2, 0.4, 0.8}
	want := dw.leftWeight(taus[0])
	if want < 0.8 || want > 0.95 {
		t.Fatalf("exact lower-well weight %g: the set-up should make the wells unequal", want)
	}
	const steps = 400000
	const sigmaA = 0.3 // of the adaptive groups (runLadder)
	for _, tc := range []struct {
		name  string
		kind  Kind
		xiTau []float64
	}{
		{"langevin", Langevin, nil},
		// Exact gradients: the equilibrium ξ·τ is σ_A²/2.
		{"adaptive", Adaptive, []float64{sigmaA * sigmaA / 2}},
		// ξ ← ξ·τ_old/τ_new, the rule without a known ξ·τ.
		{"adaptive-xi-scaled", Adaptive, nil},
		{"overdamped", Overdamped, nil},
		{"sgld", SGLD, nil},
	} {
		kind := tc.kind
		t.Run(tc.name, func(t *testing.T) {
			frac, se, x := runLadder(t, kind, dw, taus, steps, 10, tc.xiTau)
			t.Logf("with exchange: lower-well occupancy of the cold rung %.4f ± %.4f, exact %.4f; acceptance by pair %v; round trips %v",
				frac, se, want, acceptance(x), trips(x))
			if d := math.Abs(frac - want); d > 4*se+0.01 {
				t.Errorf("with exchange: occupancy %.4f, exact Boltzmann weight %.4f (|diff| %.4f > 4 s.e. %.4f + 0.01)", frac, want, d, 4*se)
			}
			var rt int64
			for i := 0; i < x.K(); i++ {
				rt += x.RoundTrips(i)
			}
			if rt < 20 {
				t.Errorf("only %d round trips across the ladder", rt)
			}
			stuck, _, _ := runLadder(t, kind, dw, taus, steps, 0, tc.xiTau)
			t.Logf("without exchange: lower-well occupancy of the cold chain %.4f", stuck)
			if stuck > 0.01 {
				t.Errorf("without exchange the cold chain reached the lower well (occupancy %.4f); the test's barrier is too low to show anything", stuck)
			}
		})
	}
}

func acceptance(x *Exchange) []float64 {
	out := make([]float64, x.K()-1)
	for k := range out {
		out[k] = float64(x.Accepted(k)) / float64(x.Proposed(k))
	}
	return out
}

func trips(x *Exchange) []int64 {
	out := make([]int64, x.K())
	for i := range out {
		out[i] = x.RoundTrips(i)
	}
	return out
}

// expectedAccept is E[min(1, e^X)] for X ~ N(mu, s²):
// Φ(mu/s) + e^{mu + s²/2}·Φ(−mu/s − s).
func expectedAccept(mu, s float64) float64 {
	phi := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	return phi(mu/s) + math.Exp(mu+s*s/2)*phi(-mu/s-s)
}

// TestMinibatchCriterionRecoversRate gives two rungs (τ = 1, 2) an exact
// energy difference whose full-energy acceptance rate is 0.05, observed
// through Gaussian noise of known variance 4 (δ·s = 1). The corrected
// criterion's acceptance rate matches the full-energy rate within 4
// standard errors plus the small bias of the min (0.0003, from the closed
// form); the naive rule on the noisy energies accepts about 0.08.
func TestMinibatchCriterionRecoversRate(t *testing.T) {
	taus := []float64{1, 2}
	delta := 1/taus[0] - 1/taus[1]
	full := 0.05
	d := math.Log(full) / delta // U(cold) − U(hot)
	const s2 = 4.0
	src := rand.New(rand.NewPCG(9, 9))
	rate := func(diffVar []float64) (float64, float64) {
		x, err := NewExchange(taus, 7, 8)
		if err != nil {
			t.Fatal(err)
		}
		u := make([]float64, 2)
		const n = 400000 // 200,000 proposals: odd rounds propose no pair with two rungs
		for i := 0; i < n; i++ {
			u[x.ChainAt(0)] = d + math.Sqrt(s2)*src.NormFloat64()
			u[x.ChainAt(1)] = 0
			if _, err := x.Round(u, diffVar, 1); err != nil {
				t.Fatal(err)
			}
		}
		r := float64(x.Accepted(0)) / float64(x.Proposed(0))
		return r, math.Sqrt(r * (1 - r) / float64(x.Proposed(0)))
	}
	corrected, se := rate([]float64{s2})
	naive, _ := rate(nil)
	s := delta * math.Sqrt(s2)
	closed := expectedAccept(delta*d-s*s/2, s)
	t.Logf("full-energy rate %.4f; corrected %.4f ± %.4f (closed form %.4f); naive %.4f (closed form %.4f)",
		full, corrected, se, closed, naive, expectedAccept(delta*d, s))
	if diff := math.Abs(corrected - full); diff > 4*se+math.Abs(closed-full) {
		t.Errorf("corrected minibatch rate %.4f, full-energy rate %.4f (|diff| %.4f > 4 s.e. %.4f + min bias %.4f)", corrected, full, diff, 4*se, math.Abs(closed-full))
	}
	if naive-full < 10*se {
		t.Errorf("naive rate %.4f is not above the full rate %.4f: the noise should bias it", naive, full)
	}
}

// TestRoundTripsAndParity forces every proposal to be accepted on a
// three-rung ladder: chain 0 climbs on rounds 0 and 1, descends on rounds
// 3 and 4, and completes one round trip after five rounds; odd rounds
// propose only the pair (1, 2).
func TestRoundTripsAndParity(t *testing.T) {
	x, err := NewExchange([]float64{1, 2, 3}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	u := make([]float64, 3)
	wantRung := []int{1, 2, 2, 1, 0}
	for r, want := range wantRung {
		for i := range u {
			u[i] = -float64(x.RungOf(i)) // colder rungs hold higher energies: always accepted
		}
		if _, err := x.Round(u, nil, 1); err != nil {
			t.Fatal(err)
		}
		if got := x.RungOf(0); got != want {
			t.Fatalf("after round %d chain 0 is at rung %d, want %d", r, got, want)
		}
	}
	if x.RoundTrips(0) != 1 {
		t.Errorf("chain 0 completed %d round trips, want 1", x.RoundTrips(0))
	}
	if x.Proposed(0) != 3 || x.Proposed(1) != 2 {
		t.Errorf("proposals by pair %d, %d; want 3 (even rounds) and 2 (odd rounds)", x.Proposed(0), x.Proposed(1))
	}
}

// TestExchangeSaveRestore checkpoints an exchange mid-run, restores it
// into a fresh Exchange and checks that both make the same decisions and
// keep the same counters afterwards.
func TestExchangeSaveRestore(t *testing.T) {
	taus := []float64{0.1, 0.3, 0.9, 2}
	a, _ := NewExchange(taus, 11, 12)
	src := rand.New(rand.NewPCG(1, 2))
	u := make([]float64, 4)
	draw := func() {
		for i := range u {
			u[i] = src.NormFloat64()
		}
	}
	for i := 0; i < 100; i++ {
		draw()
		if _, err := a.Round(u, nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	blob, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewExchange(taus, 99, 99)
	if err := b.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		draw()
		na, _ := a.Round(u, nil, 1)
		nb, _ := b.Round(u, nil, 1)
		if na != nb {
			t.Fatalf("round %d after restore: %d vs %d swaps", i, na, nb)
		}
	}
	for i := 0; i < 4; i++ {
		if a.RungOf(i) != b.RungOf(i) || a.RoundTrips(i) != b.RoundTrips(i) {
			t.Fatalf("chain %d: rung %d/%d, trips %d/%d", i, a.RungOf(i), b.RungOf(i), a.RoundTrips(i), b.RoundTrips(i))
		}
	}
	if a.Rounds() != b.Rounds() || a.Accepted(1) != b.Accepted(1) {
		t.Fatalf("counters differ after restore")
	}
	other, _ := NewExchange([]float64{0.1, 0.3, 0.9, 3}, 1, 1)
	if err := other.UnmarshalBinary(blob); err == nil {
		t.Fatal("a checkpoint of another ladder was accepted")
	}
	if err := b.UnmarshalBinary(blob[:len(blob)-3]); err == nil {
		t.Fatal("a truncated checkpoint was accepted")
	}
}

// TestExchangeTauRescales checks the bookkeeping rule: momenta scale by
// √(τ_new/τ_old); ξ by τ_old/τ_new without an estimate of the equilibrium
// ξ·τ, by the affine map with one; parameters and SGD groups unchanged.
func TestExchangeTauRescales(t *testing.T) {
	set := Settings{H: 0.1, Groups: []Group{
		{Name: "a", Tensors: []Tensor{{Name: "a", Off: 0, Len: 2}}, Kind: Adaptive, Tau: 0.5, SigmaA: 0.1, Epsilon: 1, Xi0: 0.8},
		{Name: "b", Tensors: []Tensor{{Name: "b", Off: 2, Len: 2}}, Kind: Langevin, Tau: 0.5, Gamma: 1},
		{Name: "c", Tensors: []Tensor{{Name: "c", Off: 4, Len: 1}}, Kind: SGD},
	}}
	c := mustChain(t, set, []float64{1, 2, 3, 4, 5}, newHarmonic(5, 1, 0, 1).problem(), 3)
	mustStep(t, c, 5)
	p0 := append([]float64(nil), c.Momenta()...)
	th0 := append([]float64(nil), c.Theta()...)
	xi0 := c.Diag(0).Xi[0]
	c.ExchangeTau(2, nil)
	for i := 0; i < 4; i++ {
		if want := p0[i] * 2; math.Abs(c.Momenta()[i]-want) > 1e-15*math.Abs(want) {
			t.Errorf("p[%d] = %g, want %g", i, c.Momenta()[i], want)
		}
	}
	if c.Momenta()[4] != p0[4] {
		t.Errorf("the SGD group's buffer changed")
	}
	for i := range th0 {
		if c.Theta()[i] != th0[i] {
			t.Errorf("θ[%d] changed at a swap", i)
		}
	}
	if got, want := c.Diag(0).Xi[0], xi0/4; math.Abs(got-want) > 1e-15 {
		t.Errorf("ξ = %g, want %g", got, want)
	}
	if tau, err := c.Tau(); err != nil || tau != 2 {
		t.Errorf("Tau() = %g, %v; want 2", tau, err)
	}
	// With an estimate of the equilibrium ξ·τ: ξ ← c/τ_new + (ξ − c/τ_old)·√(τ_new/τ_old).
	xi1 := c.Diag(0).Xi[0]
	est := []float64{0.3}
	c.ExchangeTau(0.5, est)
	if got, want := c.Diag(0).Xi[0], 0.3/0.5+(xi1-0.3/2)*0.5; math.Abs(got-want) > 1e-14 {
		t.Errorf("ξ with estimate = %g, want %g", got, want)
	}
	if n := c.NumXi(); n != 1 {
		t.Errorf("NumXi = %d, want 1 (one per tensor of the adaptive group)", n)
	}
}

func TestValidateLadder(t *testing.T) {
	for _, bad := range [][]float64{nil, {1}, {0, 1}, {1, 1}, {2, 1}, {1, math.Inf(1)}, {math.NaN(), 1}} {
		if err := ValidateLadder(bad); err == nil {
			t.Errorf("ladder %v accepted", bad)
		}
	}
	if err := ValidateLadder([]float64{1e-5, 1e-4}); err != nil {
		t.Error(err)
	}
}
