package dataset

import (
	"math/bits"
	"math/rand/v2"
)

// uintN returns an integer uniform in [0, k) for k > 0, by Lemire's
// multiply-and-reject rule on src.Uint64 (see the package documentation):
//
//	m = x·k (128 bits); accept hi(m) unless lo(m) < (2⁶⁴ − k) mod k.
//
// It is implemented here so that index draws depend only on the Source.
func uintN(src rand.Source, k uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), k)
	if lo < k {
		thresh := -k % k // (2⁶⁴ − k) mod k
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), k)
		}
	}
	return hi
}

// shuffle permutes p in place by Fisher–Yates: for i = len(p)−1 down to 1,
// swap p[i] with p[j], j = uintN(src, i+1).
func shuffle(src rand.Source, p []int) {
	for i := len(p) - 1; i > 0; i-- {
		j := int(uintN(src, uint64(i+1)))
		p[i], p[j] = p[j], p[i]
	}
}

// permutation returns a uniformly random permutation of 0, …, n−1: the
// shuffle of the identity.
func permutation(src rand.Source, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	shuffle(src, p)
	return p
}
