package nn

// NumericsVersion identifies the floating-point operation order of this
// package's kernels: two builds with the same NumericsVersion compute
// bit-identical losses, gradients and predictions on every supported
// machine (amd64 with or without AVX/AVX-512, any GOAMD64 level, arm64),
// because every run-time path uses the same summation order and rounds
// every product (see gemm.go). A checkpoint or replica config that records
// it can refuse to resume under a different one.
//
// It is bumped whenever a change alters any result bit. History:
//
//	1  per-sample general path, dot products with four partial sums
//	2  batched general path (matrix products, one in-order chain per
//	   element), no fused multiply-add anywhere; the SHLP kernel unchanged
//	3  the sampler's Gaussian noise from xoshiro256++ (seeded from the
//	   chain's two seeds by SplitMix64) instead of math/rand/v2's PCG,
//	   through the same ziggurat (sampler/noise.go); the kernels unchanged
//	4  the noise from eight xoshiro256++ lanes, 2¹²⁸ draws apart, slot i of
//	   every buffer from lane i mod 8 (AVX-512 runs the ziggurat's first
//	   test on eight at once), and a ninth stream for the draws that test
//	   rejects (sampler/noise.go); the kernels unchanged
//	5  the sampler's sums over parameters (Σq² of the kinetic temperature
//	   and of the adaptive thermostat's ξ update) in 32 partial sums, so the
//	   Langevin move runs in AVX-512 (sampler/update.go); the kernels
//	   unchanged
const NumericsVersion = 5
