package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/heatbath/heatbath/internal/detmath"
)

// TrigParams parameterises the trigonometric data of the extended abstract
// (Figures 1 and 2). With t ~ U[0, 1) and ε ~ N(0, 1):
//
//	class 0: (x, y) = (XScale·t, cos(Freq·π·t) + Noise·ε)
//	class 1: (x, y) = (XScale·t, sin(Freq·π·t) + Noise·ε)
//
// Only y is noisy, as in the abstract. The zero value is invalid.
type TrigParams struct {
	// XScale stretches x; it must be finite > 0.
	XScale float64
	// Freq is the angular frequency in units of π; it must be finite.
	Freq float64
	// Noise is the standard deviation of the noise on y; it must be ≥ 0.
	Noise float64
}

// TrigFig1 is the data of the abstract's Figure 1: x = 3t, y = cos(2πt) or
// sin(2πt), noise 0.02.
var TrigFig1 = TrigParams{XScale: 3, Freq: 2, Noise: 0.02}

// TrigFig2 is the data of the abstract's Figure 2: x = 10t, y = cos(πt) or
// sin(πt), noise 0.02.
var TrigFig2 = TrigParams{XScale: 10, Freq: 1, Noise: 0.02}

// Validate reports the first invalid field of p.
func (p TrigParams) Validate() error {
	switch {
	case !(p.XScale > 0) || math.IsInf(p.XScale, 1):
		return fmt.Errorf("dataset: trig XScale = %g, want finite > 0", p.XScale)
	case math.IsNaN(p.Freq) || math.IsInf(p.Freq, 0):
		return fmt.Errorf("dataset: trig Freq = %g, want finite", p.Freq)
	case !validNoise(p.Noise):
		return fmt.Errorf("dataset: trig Noise = %g, want finite ≥ 0", p.Noise)
	}
	return nil
}

// Trig draws n trigonometric points (see TrigParams): n − ⌊n/2⌋ of class 0
// in the first rows, then ⌊n/2⌋ of class 1.
//
// Draw order: for every row in order, t = Float64() then ε = detmath.Normal(r)
// from rand.New(src). It panics if n < 0 or p is invalid.
func Trig(p TrigParams, n int, src rand.Source) *Set {
	mustGenerate("Trig", p.Validate(), n)
	r := rand.New(src)
	s := newBinarySet(n)
	n0 := n - n/2
	for i := range n {
		t := r.Float64()
		eps := detmath.Normal(r)
		f := detmath.Cos
		if i >= n0 {
			f = detmath.Sin
		}
		s.X[2*i] = p.XScale * t
		s.X[2*i+1] = f(p.Freq*math.Pi*t) + float64(p.Noise*eps)
	}
	return s
}

// Spiral forms.
const (
	// SpiralPower is the authors' code: r = a·t^p, φ = 2πb·t^p.
	SpiralPower = "power"
	// SpiralLinear is the extended abstract: r = a·t, φ = 2πb·t (a = 2).
	SpiralLinear = "linear"
)

// SpiralParams parameterises the two interleaved spirals. With t ~ U[0, 1)
// and ε, ε′ ~ N(0, I₂), form "power" (the authors' twospirals code) sets
//
//	r = a·t^p,  φ = 2π·b·t^p,
//
// form "linear" (the extended abstract) sets r = a·t, φ = 2π·b·t (that is,
// p = 1; with a = 2 this is the abstract's (2t cos 2bπt, 2t sin 2bπt)), and
// each t gives one point of each class:
//
//	class 0: ( r cos φ,  r sin φ) + c·ε
//	class 1: (−r cos φ, −r sin φ) + c·ε′
//
// Class 1 is the point reflection of class 0 with the same t, which is the
// abstract's "shift of the argument by π" since cos(φ+π) = −cos φ and
// sin(φ+π) = −sin φ. The zero value is invalid; SpiralAuthors holds the
// defaults a = 2, p = 0.5, b = 4, c = 0.02.
type SpiralParams struct {
	// Turns is b, the number of turns of each arm; it must be finite ≥ 0.
	Turns float64
	// Form is SpiralPower ("power") or SpiralLinear ("linear").
	Form string
	// Radius is a, the radius at t = 1; it must be finite > 0.
	Radius float64
	// Power is p of the "power" form; it must be finite > 0 there and is
	// ignored by "linear".
	Power float64
	// Noise is c, the standard deviation of the noise on each coordinate;
	// it must be ≥ 0.
	Noise float64
}

// SpiralAuthors is the spiral of the authors' code: b = 4, a = 2, p = 0.5,
// c = 0.02.
var SpiralAuthors = SpiralParams{Turns: 4, Form: SpiralPower, Radius: 2, Power: 0.5, Noise: 0.02}

// SpiralAbstract is the spiral of the extended abstract: r = 2t, φ = 2πbt
// with b = 4 (the abstract also studies b = 3), c = 0.02.
var SpiralAbstract = SpiralParams{Turns: 4, Form: SpiralLinear, Radius: 2, Noise: 0.02}

// Validate reports the first invalid field of p.
func (p SpiralParams) Validate() error {
	switch {
	case p.Form != SpiralPower && p.Form != SpiralLinear:
		return fmt.Errorf("dataset: spiral Form = %q, want %q or %q", p.Form, SpiralPower, SpiralLinear)
	case !(p.Turns >= 0) || math.IsInf(p.Turns, 1):
		return fmt.Errorf("dataset: spiral Turns = %g, want finite ≥ 0", p.Turns)
	case !(p.Radius > 0) || math.IsInf(p.Radius, 1):
		return fmt.Errorf("dataset: spiral Radius = %g, want finite > 0", p.Radius)
	case p.Form == SpiralPower && (!(p.Power > 0) || math.IsInf(p.Power, 1)):
		return fmt.Errorf("dataset: spiral Power = %g, want finite > 0 for Form %q", p.Power, p.Form)
	case !validNoise(p.Noise):
		return fmt.Errorf("dataset: spiral Noise = %g, want finite ≥ 0", p.Noise)
	}
	return nil
}

// Spiral draws n two-spiral points (see SpiralParams). Row i < n0 = n − ⌊n/2⌋
// is the class-0 point of the i-th t, and row n0+i the class-1 point of the
// same t (for odd n the last t has no class-1 partner).
//
// Draw order, for i = 0, …, n0−1 from rand.New(src): t = Float64(), then
// ε₁, ε₂ = detmath.Normal(r) for the class-0 point, then (if i < ⌊n/2⌋)
// ε′₁, ε′₂ = detmath.Normal(r) for the class-1 point. It panics if n < 0 or p is
// invalid.
func Spiral(p SpiralParams, n int, src rand.Source) *Set {
	mustGenerate("Spiral", p.Validate(), n)
	r := rand.New(src)
	s := newBinarySet(n)
	n0, n1 := n-n/2, n/2
	for i := range n0 {
		t := r.Float64()
		u := t // t^p
		if p.Form == SpiralPower {
			u = detmath.Pow(t, p.Power)
		}
		rad := p.Radius * u
		phi := 2 * math.Pi * p.Turns * u
		cx, cy := float64(rad*detmath.Cos(phi)), float64(rad*detmath.Sin(phi))
		s.X[2*i] = cx + float64(p.Noise*detmath.Normal(r))
		s.X[2*i+1] = cy + float64(p.Noise*detmath.Normal(r))
		if i < n1 {
			j := n0 + i
			s.X[2*j] = -cx + float64(p.Noise*detmath.Normal(r))
			s.X[2*j+1] = -cy + float64(p.Noise*detmath.Normal(r))
		}
	}
	return s
}

// RingsParams parameterises pinched concentric rings, after the two-ring
// problem of Huang et al. (2019), "Understanding generalization through
// visualizations" (arXiv:1906.03291), whose squeezed margin makes every good
// minimum sharp. Their exact generator was not available to us; this is our
// construction. With θ ~ U[0, 2π) and ε ~ N(0, I₂):
//
//	class 0 (inner circle):  r₀(θ) = Inner
//	class 1 (pinched ring):  r₁(θ) = Outer − (Outer − Inner − Margin)·cos⁴(θ/2)
//	point: r(θ)·(cos θ, sin θ) + Noise·ε
//
// The outer ring has radius Outer opposite the pinch (θ = π) and is pulled
// in to Inner + Margin at θ = 0 (the positive x axis); cos⁴(θ/2) =
// ((1 + cos θ)/2)² confines the pinch to the near side (at θ = ±π/2 a
// quarter of the squeeze remains). Without noise the distance from a point
// at radius r₁ to the inner circle is r₁ − Inner, so the gap between the
// classes is minθ r₁(θ) − Inner = Margin exactly, attained at θ = 0. The
// zero value is invalid; RingsDefault holds the defaults.
type RingsParams struct {
	// Inner is the radius of class 0; it must be finite > 0.
	Inner float64
	// Outer is the unpinched radius of class 1; it must be finite and
	// satisfy Outer ≥ Inner + Margin.
	Outer float64
	// Margin is the gap between the classes at the pinch; it must be ≥ 0.
	Margin float64
	// Noise is the standard deviation of the noise on each coordinate; it
	// must be ≥ 0. Noise of the order of Margin closes the gap.
	Noise float64
}

// RingsDefault is a unit inner ring and an outer ring of radius 2 pinched to
// a gap of 0.1 (a tenth of the unpinched gap), with the paper's noise 0.02.
var RingsDefault = RingsParams{Inner: 1, Outer: 2, Margin: 0.1, Noise: 0.02}

// Validate reports the first invalid field of p.
func (p RingsParams) Validate() error {
	switch {
	case !(p.Inner > 0) || math.IsInf(p.Inner, 1):
		return fmt.Errorf("dataset: rings Inner = %g, want finite > 0", p.Inner)
	case !(p.Margin >= 0) || math.IsInf(p.Margin, 1):
		return fmt.Errorf("dataset: rings Margin = %g, want finite ≥ 0", p.Margin)
	case !(p.Outer >= p.Inner+p.Margin) || math.IsInf(p.Outer, 1):
		return fmt.Errorf("dataset: rings Outer = %g, want finite ≥ Inner + Margin = %g", p.Outer, p.Inner+p.Margin)
	case !validNoise(p.Noise):
		return fmt.Errorf("dataset: rings Noise = %g, want finite ≥ 0", p.Noise)
	}
	return nil
}

// Rings draws n pinched-ring points (see RingsParams): n − ⌊n/2⌋ of class 0
// in the first rows, then ⌊n/2⌋ of class 1.
//
// Draw order: for every row in order, θ = 2π·Float64(), then ε₁, ε₂ =
// detmath.Normal(r), r = rand.New(src). It panics if n < 0 or p is invalid.
func Rings(p RingsParams, n int, src rand.Source) *Set {
	mustGenerate("Rings", p.Validate(), n)
	r := rand.New(src)
	s := newBinarySet(n)
	n0 := n - n/2
	for i := range n {
		theta := 2 * math.Pi * r.Float64()
		rad := p.Inner
		if i >= n0 {
			c := detmath.Cos(theta / 2)
			c *= c
			rad = p.Outer - float64((p.Outer-p.Inner-p.Margin)*c*c)
		}
		s.X[2*i] = float64(rad*detmath.Cos(theta)) + float64(p.Noise*detmath.Normal(r))
		s.X[2*i+1] = float64(rad*detmath.Sin(theta)) + float64(p.Noise*detmath.Normal(r))
	}
	return s
}

// newBinarySet returns a 2-D, two-class set of n points with labels 0 in
// rows [0, n−⌊n/2⌋) and 1 after.
func newBinarySet(n int) *Set {
	s := &Set{X: make([]float64, 2*n), Y: make([]int, n), Dim: 2, Classes: 2}
	for i := n - n/2; i < n; i++ {
		s.Y[i] = 1
	}
	return s
}

// mustGenerate panics on invalid generator arguments.
func mustGenerate(name string, err error, n int) {
	if err != nil {
		panic(err)
	}
	if n < 0 {
		panic(fmt.Sprintf("dataset: %s: n = %d is negative", name, n))
	}
}

// validNoise reports whether c is a usable standard deviation: finite ≥ 0.
func validNoise(c float64) bool { return c >= 0 && !math.IsInf(c, 1) }
