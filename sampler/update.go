package sampler

// The element loops of the moves (Langevin, overdamped, adaptive) and of
// the kick, in Go and, where the CPU has it, in AVX-512 or AVX2 assembly
// with the same bits (kernels_amd64.go).
// Sums over parameters (Σq² for the kinetic temperature and the adaptive
// thermostat) run in 32 partial sums, element j of a loop into sum j mod
// 32, added in index order at the end (sumLanes.total): a vector kernel can
// keep them in four registers, where one running sum would chain every
// element's addition to the last (numerics version 5).

// sumLanes holds 32 partial sums.
type sumLanes [32]float64

// total returns ((s₀ + s₁) + s₂) + … + s₃₁.
func (s *sumLanes) total() float64 {
	var t float64
	for _, v := range s {
		t += v
	}
	return t
}

// The element loops, the Go ones below or vector kernels with the same
// bits, chosen at start-up.
var (
	langevin       = langevinGo
	kick           = kickGo
	overdamped     = overdampedGo
	adaptiveFirst  = adaptiveFirstGo
	adaptiveSecond = adaptiveSecondGo
)

// langevinGo is A_{h/2} O_h A_{h/2} on one chunk (Leimkuhler and Matthews'
// BAOAB middle, algorithms.md): with h2 = h/2, c = e^{−γh} and
// d = √((1−c²)τ), for each j
//
//	x = θ_j + h2·p_j;  q = c·p_j + d·r_j;  p_j ← q;  θ_j ← x + h2·q
//
// each product and sum rounded in that order; q² goes into acc[j mod 32].
// It returns the OR of finiteBits of the new θ.
func langevinGo(th, p, r []float64, h2, c, d float64, acc *sumLanes) uint64 {
	p, r = p[:len(th)], r[:len(th)]
	var bad uint64
	for j := range th {
		x := th[j] + float64(h2*p[j])
		q := float64(c*p[j]) + float64(d*r[j])
		p[j] = q
		x += float64(h2 * q)
		th[j] = x
		acc[j&31] += float64(q * q)
		bad |= finiteBits(x)
	}
	return bad
}

// kickGo is B_f: p_j ← p_j − f·g_j, the product rounded. It returns the OR
// of finiteBits of the new p.
func kickGo(p, g []float64, f float64) uint64 {
	g = g[:len(p)]
	var bad uint64
	for j := range p {
		q := p[j] - float64(f*g[j])
		p[j] = q
		bad |= finiteBits(q)
	}
	return bad
}

// overdampedGo is A_{h/2} O∞ A_{h/2} on one chunk (Leimkuhler and
// Matthews' scheme as BAOAB with γ → ∞): with h2 = h/2 and s = √τ, for each j
//
//	q = s·r_j;  θ_j ← θ_j + h2·(p_j + q);  p_j ← q
//
// q² goes into acc[j mod 32]. It returns the OR of finiteBits of the new θ.
func overdampedGo(th, p, r []float64, h2, s float64, acc *sumLanes) uint64 {
	p, r = p[:len(th)], r[:len(th)]
	var bad uint64
	for j := range th {
		q := float64(s * r[j])
		x := th[j] + float64(h2*(p[j]+q))
		th[j] = x
		p[j] = q
		acc[j&31] += float64(q * q)
		bad |= finiteBits(x)
	}
	return bad
}

// adaptiveFirstGo is the adaptive scheme's A_{h/2} C_{h/2} D_{h/2} on one
// chunk (Leimkuhler, Matthews and Vlaar's AdLaLa, algorithms.md): with
// h2 = h/2, e = e^{−ξh/2} and s = σ_A√(h/2), for each j
//
//	θ_j ← θ_j + h2·p_j;  q = e·p_j + s·r_j;  p_j ← q
//
// q² goes into acc[j mod 32] (the E step's pᵀp).
func adaptiveFirstGo(th, p, r []float64, h2, e, s float64, acc *sumLanes) {
	p, r = p[:len(th)], r[:len(th)]
	for j := range th {
		th[j] += float64(h2 * p[j])
		q := float64(e*p[j]) + float64(s*r[j])
		p[j] = q
		acc[j&31] += float64(q * q)
	}
}

// adaptiveSecondGo is the adaptive scheme's D_{h/2} C_{h/2} A_{h/2} after
// the E step, with e = e^{−ξh/2} of the new ξ, for each j
//
//	q = e·(p_j + s·r_j);  p_j ← q;  θ_j ← θ_j + h2·q
//
// It returns the OR of finiteBits of the new θ.
func adaptiveSecondGo(th, p, r []float64, h2, e, s float64) uint64 {
	p, r = p[:len(th)], r[:len(th)]
	var bad uint64
	for j := range th {
		q := e * (p[j] + float64(s*r[j]))
		p[j] = q
		x := th[j] + float64(h2*q)
		th[j] = x
		bad |= finiteBits(x)
	}
	return bad
}
