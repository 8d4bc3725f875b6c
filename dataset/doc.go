// Package dataset provides the labelled data sets of the Heatbath experiments
// (Leimkuhler, Matthews and Vlaar, "Partitioned integrators for thermodynamic
// parameterization of neural networks", arXiv:1908.11843) and the seeded
// minibatch schedule that feeds them to a sampler.
//
// The package is pure: it imports only the standard library, does no
// logging, and its readers take an io.Reader (LoadMNIST and LoadCSV are thin
// file-opening wrappers around them).
//
// # Sets
//
// A Set stores N points of dimension Dim row-major in X (point i is
// X[i·Dim : (i+1)·Dim]) with integer labels Y[i] in [0, Classes). Functions
// that derive a set from another (Subset, FilterClasses, SplitSet) copy; no
// result aliases its input.
//
// # Generators
//
// Trig, Spiral and Rings draw two-class sets in the plane. Each draws n
// points: n0 = n − ⌊n/2⌋ of class 0 stored first, in rows [0, n0), then
// n1 = ⌊n/2⌋ of class 1 in rows [n0, n). The parameters are taken literally:
// the published settings are the exported presets (TrigFig1, TrigFig2,
// SpiralAuthors, SpiralAbstract, RingsDefault), and invalid parameters make
// the generator panic with the error their Validate method returns.
//
// # Reproducibility
//
// A result is a function of the Source's state only, so the same seed gives
// the same bits. Uniforms come from rand.New(src).Float64, which maps one
// src.Uint64 onto [0, 1); Gaussians from detmath.Normal(rand.New(src)),
// math/rand/v2's NormFloat64 ziggurat (the same numbers on amd64), which
// consumes one or more src.Uint64 values. Noise is drawn even
// when the noise level is zero, so the noise level never shifts the stream.
// Integers in [0, k) (permutations and sampling with replacement) are drawn
// by this package's own multiply-and-reject rule on src.Uint64, so that they
// do not depend on math/rand/v2's internal integer algorithms:
//
//	m = x·k as a 128-bit product of x = src.Uint64();
//	return ⌊m / 2⁶⁴⌋ unless (m mod 2⁶⁴) < (2⁶⁴ − k) mod k, else draw again.
//
// A permutation of n indices is the Fisher–Yates shuffle of the identity
// 0, 1, …, n−1: for i = n−1 down to 1, swap p[i] and p[j] with j uniform in
// [0, i+1). Each generator documents its own draw order.
//
// Bits are the same on every machine: the generators' sums of products
// are written float64(x*y) + z, which the Go specification forbids fusing
// into one multiply-add (a test compiles the package for GOAMD64=v3 and
// arm64 and finds no fused instruction), and sines, cosines, powers and
// Gaussians come from internal/detmath rather than math and
// NormFloat64, whose results differ between amd64 and arm64 and between
// GOAMD64 levels.
//
// # Minibatches
//
// A Batcher yields index minibatches in one of two Sampling modes: Reshuffle
// (the authors' DataLoader scheme) or Replacement. It owns its PCG generator,
// does not allocate per batch, and its full state round-trips through
// MarshalBinary/UnmarshalBinary so an interrupted chain resumes with the same
// index sequence. Neither a Batcher nor a Source may be shared between
// goroutines.
package dataset
