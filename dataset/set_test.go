package dataset

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// idSet returns n points of dimension 2 whose first coordinate is the
// point's index (an identity that survives copying) and label i mod k.
func idSet(n, k int) *Set {
	s := &Set{X: make([]float64, 2*n), Y: make([]int, n), Dim: 2, Classes: k}
	for i := range n {
		s.X[2*i], s.X[2*i+1] = float64(i), -float64(i)
		s.Y[i] = i % k
	}
	return s
}

// ids returns the identities of the points of s (see idSet).
func ids(s *Set) []int {
	out := make([]int, s.Len())
	for i := range out {
		out[i] = int(s.X[2*i])
	}
	return out
}

func TestSetValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Set
		msg  string
	}{
		{"ok", *idSet(3, 2), ""},
		{"empty ok", Set{Dim: 1, Classes: 1}, ""},
		{"dim", Set{Dim: 0, Classes: 1}, "Dim = 0"},
		{"classes", Set{Dim: 1, Classes: 0}, "Classes = 0"},
		{"len", Set{X: []float64{1, 2, 3}, Y: []int{0}, Dim: 2, Classes: 1}, "len(X) = 3"},
		{"label", Set{X: []float64{1, 2}, Y: []int{0, 2}, Dim: 1, Classes: 2}, "Y[1] = 2"},
		{"negative label", Set{X: []float64{1}, Y: []int{-1}, Dim: 1, Classes: 2}, "Y[0] = -1"},
	} {
		err := tc.s.Validate()
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.msg)
		}
	}
}

func TestSubsetCopies(t *testing.T) {
	s := idSet(5, 2)
	sub := s.Subset([]int{4, 1, 1})
	if got := ids(sub); !slices.Equal(got, []int{4, 1, 1}) {
		t.Fatalf("ids = %v, want [4 1 1]", got)
	}
	if !slices.Equal(sub.Y, []int{0, 1, 1}) || sub.Dim != 2 || sub.Classes != 2 {
		t.Fatalf("Y, Dim, Classes = %v, %d, %d", sub.Y, sub.Dim, sub.Classes)
	}
	sub.X[0], sub.Y[0] = 99, 1
	if s.X[8] != 4 || s.Y[4] != 0 {
		t.Error("Subset aliases its input")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(toString(r), "idx[1] = 5") {
			t.Errorf("panic = %v, want one naming idx[1] = 5", r)
		}
	}()
	s.Subset([]int{0, 5})
}

func TestRowAliases(t *testing.T) {
	s := idSet(3, 1)
	r := s.Row(2)
	if !slices.Equal(r, []float64{2, -2}) || cap(r) != 2 {
		t.Fatalf("Row(2) = %v (cap %d)", r, cap(r))
	}
	r[0] = 7
	if s.X[4] != 7 {
		t.Error("Row does not alias X")
	}
}

func TestBounds(t *testing.T) {
	s := &Set{X: []float64{1, -3, 4, 2, -0.5, 0}, Y: []int{0, 0, 0}, Dim: 2, Classes: 1}
	lo, hi := s.Bounds()
	if !slices.Equal(lo, []float64{-0.5, -3}) || !slices.Equal(hi, []float64{4, 2}) {
		t.Errorf("Bounds = %v, %v; want [-0.5 -3], [4 2]", lo, hi)
	}
	lo, hi = (&Set{Dim: 1, Classes: 1}).Bounds()
	if !math.IsInf(lo[0], 1) || !math.IsInf(hi[0], -1) {
		t.Errorf("empty Bounds = %v, %v; want [+Inf], [-Inf]", lo, hi)
	}
}

func TestFilterClasses(t *testing.T) {
	s := idSet(20, 10) // labels 0..9, twice
	f, err := FilterClasses(s, []int{7, 3})
	if err != nil {
		t.Fatal(err)
	}
	if f.Classes != 2 || f.Dim != 2 {
		t.Fatalf("Classes, Dim = %d, %d; want 2, 2", f.Classes, f.Dim)
	}
	// Order kept; 7 → 0 and 3 → 1 (the given order, not sorted).
	if got := ids(f); !slices.Equal(got, []int{3, 7, 13, 17}) {
		t.Errorf("ids = %v, want [3 7 13 17]", got)
	}
	if !slices.Equal(f.Y, []int{1, 0, 1, 0}) {
		t.Errorf("Y = %v, want [1 0 1 0]", f.Y)
	}
	if err := f.Validate(); err != nil {
		t.Error(err)
	}
	if s.Y[3] != 3 {
		t.Error("FilterClasses changed its input")
	}

	for _, tc := range []struct {
		digits []int
		msg    string
	}{
		{nil, "digits is empty"},
		{[]int{1, 1}, "digits[1] = 1 repeats digits[0]"},
		{[]int{2, 10}, "digits[1] = 10 outside [0, Classes = 10)"},
		{[]int{-1}, "digits[0] = -1"},
	} {
		if _, err := FilterClasses(s, tc.digits); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("FilterClasses(%v) error = %v, want %q", tc.digits, err, tc.msg)
		}
	}
	few := idSet(3, 10) // labels 0, 1, 2 only
	if _, err := FilterClasses(few, []int{5}); err == nil || !strings.Contains(err.Error(), "no point") {
		t.Errorf("FilterClasses with no match: error = %v", err)
	}
}

func TestSplitSet(t *testing.T) {
	s := idSet(100, 2)
	parts, err := SplitSet(s, []int{60, 0, 30}, rand.NewPCG(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 || parts[0].Len() != 60 || parts[1].Len() != 0 || parts[2].Len() != 30 {
		t.Fatalf("part sizes wrong: %d parts", len(parts))
	}
	seen := make(map[int]bool)
	for k, p := range parts {
		if err := p.Validate(); err != nil {
			t.Fatalf("part %d: %v", k, err)
		}
		for i, id := range ids(p) {
			if seen[id] {
				t.Fatalf("point %d in two parts", id)
			}
			seen[id] = true
			if p.Y[i] != id%2 || p.X[2*i+1] != -float64(id) {
				t.Fatalf("part %d row %d: label or row mangled", k, i)
			}
		}
	}
	if len(seen) != 90 {
		t.Errorf("%d distinct points in the parts, want 90", len(seen))
	}
	if first := ids(parts[0])[:10]; slices.IsSorted(first) {
		t.Errorf("first ids %v are sorted: not shuffled", first)
	}

	again, _ := SplitSet(s, []int{60, 0, 30}, rand.NewPCG(1, 2))
	other, _ := SplitSet(s, []int{60, 0, 30}, rand.NewPCG(2, 2))
	for k := range parts {
		if !sameBits(parts[k], again[k]) {
			t.Errorf("part %d differs for the same seed", k)
		}
	}
	if sameBits(parts[0], other[0]) {
		t.Error("part 0 identical for different seeds")
	}
	parts[0].X[0] = -1e9
	if slices.Contains(s.X, -1e9) {
		t.Error("SplitSet parts alias the input")
	}

	for _, tc := range []struct {
		sizes []int
		msg   string
	}{
		{[]int{10, -1}, "sizes[1] = -1"},
		{[]int{50, 51}, "sum past Len = 100"},
	} {
		if _, err := SplitSet(s, tc.sizes, rand.NewPCG(1, 1)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("SplitSet(%v) error = %v, want %q", tc.sizes, err, tc.msg)
		}
	}
}

// seqSource replays fixed values, then panics.
type seqSource []uint64

func (s *seqSource) Uint64() uint64 {
	v := (*s)[0]
	*s = (*s)[1:]
	return v
}

// TestUintNRejects: for k = 3, (2⁶⁴ − 3) mod 3 = 1, so x = 0 (low product
// word 0) must be rejected; x = 2⁶³ gives ⌊3·2⁶³/2⁶⁴⌋ = 1.
func TestUintNRejects(t *testing.T) {
	src := seqSource{0, 1 << 63}
	if got := uintN(&src, 3); got != 1 {
		t.Errorf("uintN = %d, want 1 (x = 0 rejected)", got)
	}
	if len(src) != 0 {
		t.Errorf("%d values left, want 0", len(src))
	}
	src = seqSource{math.MaxUint64}
	if got := uintN(&src, 10); got != 9 {
		t.Errorf("uintN(max, 10) = %d, want 9", got)
	}
}

// TestShuffleUniform: the 6 permutations of 3 items each have probability
// 1/6; with 60000 shuffles each count is 10000 ± 91 (s.d.), so ±500 fails
// with probability < 1e-6 per count.
func TestShuffleUniform(t *testing.T) {
	src := rand.NewPCG(3, 3)
	counts := make(map[[3]int]int)
	p := make([]int, 3)
	for range 60000 {
		p[0], p[1], p[2] = 0, 1, 2
		shuffle(src, p)
		counts[[3]int(p)]++
	}
	if len(counts) != 6 {
		t.Fatalf("%d distinct permutations, want 6", len(counts))
	}
	for perm, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("permutation %v: %d of 60000, want 10000 ± 500", perm, c)
		}
	}
}
