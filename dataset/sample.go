package dataset

import (
	"math/rand/v2"
	"slices"
)

// Sample returns a copy of k points of s drawn without replacement, in
// their order in s: the first k indices of one Fisher–Yates permutation of
// 0, …, Len()−1 (Len()−1 integer draws from src), sorted. When k ≥ Len()
// it returns a copy of the whole set and draws nothing; k ≤ 0 gives an
// empty set.
func Sample(s *Set, k int, src rand.Source) *Set {
	n := s.Len()
	if k >= n {
		return s.Subset(identity(n))
	}
	if k <= 0 {
		return s.Subset(nil)
	}
	idx := permutation(src, n)[:k]
	slices.Sort(idx)
	return s.Subset(idx)
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}
