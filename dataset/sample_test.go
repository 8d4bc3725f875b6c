package dataset

import (
	"math/rand/v2"
	"testing"
)

func numbered(n int) *Set {
	s := &Set{X: make([]float64, 2*n), Y: make([]int, n), Dim: 2, Classes: 3}
	for i := range n {
		s.X[2*i], s.X[2*i+1], s.Y[i] = float64(i), float64(-i), i%3
	}
	return s
}

// TestSample: k distinct points of the set, in their order, each row with
// its label; the same source state gives the same points, another seed
// others; a set no larger than k is returned whole without drawing.
func TestSample(t *testing.T) {
	s := numbered(1000)
	a := Sample(s, 100, rand.NewPCG(1, 2))
	if a.Len() != 100 || a.Dim != 2 || a.Classes != 3 {
		t.Fatalf("got %d points of dim %d, %d classes; want 100, 2, 3", a.Len(), a.Dim, a.Classes)
	}
	prev := -1.0
	for i := range a.Len() {
		x := a.Row(i)
		if x[0] <= prev || x[1] != -x[0] || a.Y[i] != int(x[0])%3 {
			t.Fatalf("point %d = %v label %d: not a distinct point of the set in order", i, x, a.Y[i])
		}
		prev = x[0]
	}
	b := Sample(s, 100, rand.NewPCG(1, 2))
	c := Sample(s, 100, rand.NewPCG(1, 3))
	same := true
	for i := range a.X {
		if a.X[i] != b.X[i] {
			t.Fatal("same seed, other sample")
		}
		same = same && a.X[i] == c.X[i]
	}
	if same {
		t.Fatal("another seed gave the same sample")
	}
	if a.X[len(a.X)-2] < 500 || a.X[0] > 500 {
		t.Fatalf("sample spans %v..%v of 0..999: not spread over the set", a.X[0], a.X[len(a.X)-2])
	}

	src := rand.NewPCG(5, 6)
	whole := Sample(s, 1000, src)
	if whole.Len() != 1000 || whole.X[2*999] != 999 {
		t.Fatal("k = Len must return the whole set in order")
	}
	if src.Uint64() != rand.NewPCG(5, 6).Uint64() {
		t.Fatal("a whole-set sample drew from the source")
	}
	whole.X[0] = 42
	if s.X[0] != 0 {
		t.Fatal("the whole-set sample is not a copy")
	}
	if Sample(s, 0, rand.NewPCG(1, 2)).Len() != 0 {
		t.Fatal("k = 0 must give an empty set")
	}
}
