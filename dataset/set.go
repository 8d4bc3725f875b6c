package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Set is a labelled data set of Len() points.
//
// X is row-major N×Dim: point i is X[i·Dim : (i+1)·Dim]. Y[i] is the class
// of point i, in [0, Classes). Invariants (checked by Validate):
// len(X) = len(Y)·Dim, Dim ≥ 1, Classes ≥ 1.
type Set struct {
	X       []float64
	Y       []int
	Dim     int
	Classes int
}

// Len returns the number of points, len(Y).
func (s *Set) Len() int { return len(s.Y) }

// Row returns point i as a slice of X of length Dim. It aliases X: writing
// to it changes the set.
func (s *Set) Row(i int) []float64 { return s.X[i*s.Dim : (i+1)*s.Dim : (i+1)*s.Dim] }

// Validate checks the invariants of s and returns an error naming the first
// one broken.
func (s *Set) Validate() error {
	switch {
	case s.Dim < 1:
		return fmt.Errorf("dataset: Dim = %d, want ≥ 1", s.Dim)
	case s.Classes < 1:
		return fmt.Errorf("dataset: Classes = %d, want ≥ 1", s.Classes)
	case len(s.X) != len(s.Y)*s.Dim:
		return fmt.Errorf("dataset: len(X) = %d, want len(Y)·Dim = %d·%d = %d",
			len(s.X), len(s.Y), s.Dim, len(s.Y)*s.Dim)
	}
	for i, y := range s.Y {
		if y < 0 || y >= s.Classes {
			return fmt.Errorf("dataset: Y[%d] = %d outside [0, Classes = %d)", i, y, s.Classes)
		}
	}
	return nil
}

// Subset returns a copy of the points idx[0], idx[1], … in that order
// (repetitions allowed), with the same Dim and Classes. It panics if an
// index is outside [0, Len()).
func (s *Set) Subset(idx []int) *Set {
	out := &Set{
		X:       make([]float64, len(idx)*s.Dim),
		Y:       make([]int, len(idx)),
		Dim:     s.Dim,
		Classes: s.Classes,
	}
	for k, i := range idx {
		if i < 0 || i >= s.Len() {
			panic(fmt.Sprintf("dataset: Subset: idx[%d] = %d outside [0, %d)", k, i, s.Len()))
		}
		copy(out.X[k*s.Dim:(k+1)*s.Dim], s.Row(i))
		out.Y[k] = s.Y[i]
	}
	return out
}

// Bounds returns the per-dimension extremes of the points,
//
//	min[d] = minᵢ X[i·Dim+d],  max[d] = maxᵢ X[i·Dim+d],
//
// for laying a grid over the data (decision-boundary plots). For an empty
// set every min[d] is +Inf and every max[d] is −Inf.
func (s *Set) Bounds() (min, max []float64) {
	min = make([]float64, s.Dim)
	max = make([]float64, s.Dim)
	for d := range min {
		min[d], max[d] = math.Inf(1), math.Inf(-1)
	}
	for i := range s.Len() {
		for d, v := range s.Row(i) {
			min[d] = math.Min(min[d], v)
			max[d] = math.Max(max[d], v)
		}
	}
	return min, max
}

// FilterClasses returns a copy of the points of s whose label is one of
// digits, relabelled by position: a point of label digits[k] gets label k,
// and the result has Classes = len(digits). Two digits make a binary
// problem (for example digits = [3, 8] maps 3 → 0 and 8 → 1). The order of
// the points is kept.
//
// It fails if digits is empty, repeats a label, names a label outside
// [0, s.Classes), or selects no point.
func FilterClasses(s *Set, digits []int) (*Set, error) {
	if len(digits) == 0 {
		return nil, fmt.Errorf("dataset: FilterClasses: digits is empty")
	}
	relabel := make(map[int]int, len(digits))
	for k, d := range digits {
		if d < 0 || d >= s.Classes {
			return nil, fmt.Errorf("dataset: FilterClasses: digits[%d] = %d outside [0, Classes = %d)", k, d, s.Classes)
		}
		if j, dup := relabel[d]; dup {
			return nil, fmt.Errorf("dataset: FilterClasses: digits[%d] = %d repeats digits[%d]", k, d, j)
		}
		relabel[d] = k
	}
	var idx []int
	for i, y := range s.Y {
		if _, ok := relabel[y]; ok {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("dataset: FilterClasses: no point has a label in digits = %v", digits)
	}
	out := s.Subset(idx)
	for i, y := range out.Y {
		out.Y[i] = relabel[y]
	}
	out.Classes = len(digits)
	return out, nil
}

// SplitSet shuffles the points of s and cuts the shuffled order into
// consecutive parts of the given sizes: part k holds the points
// perm[o_k : o_k+sizes[k]], o_k = sizes[0] + … + sizes[k−1]. Points left
// over when the sizes sum to less than Len() are dropped. The parts are
// copies and pairwise disjoint.
//
// Draw order: one Fisher–Yates permutation of 0, …, Len()−1 (Len()−1
// integer draws from src, see the package documentation), so the split is
// a function of the Source's state.
//
// It fails if a size is negative or the sizes sum to more than Len().
func SplitSet(s *Set, sizes []int, src rand.Source) ([]*Set, error) {
	return splitBy(s.Len(), sizes, src, s.Subset)
}

// splitBy is SplitSet on n points whose parts subset builds from their
// indices (Set.Subset, or Images.subset, which converts only those).
func splitBy(n int, sizes []int, src rand.Source, subset func(idx []int) *Set) ([]*Set, error) {
	total := 0
	for k, m := range sizes {
		if m < 0 {
			return nil, fmt.Errorf("dataset: SplitSet: sizes[%d] = %d is negative", k, m)
		}
		total += m
		if total > n {
			return nil, fmt.Errorf("dataset: SplitSet: sizes %v sum past Len = %d", sizes, n)
		}
	}
	perm := permutation(src, n)
	parts := make([]*Set, len(sizes))
	off := 0
	for k, m := range sizes {
		parts[k] = subset(perm[off : off+m])
		off += m
	}
	return parts, nil
}
