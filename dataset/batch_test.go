package dataset

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func mustBatcher(t *testing.T, n, batch int, mode Sampling, s1, s2 uint64) *Batcher {
	t.Helper()
	b, err := NewBatcher(n, batch, mode, s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// draw returns the next k batches of b, copied.
func draw(b *Batcher, k int) [][]int {
	out := make([][]int, k)
	for i := range out {
		out[i] = slices.Clone(b.Next())
	}
	return out
}

func TestParseSampling(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Sampling
	}{{"", Reshuffle}, {"reshuffle", Reshuffle}, {"replacement", Replacement}} {
		got, err := ParseSampling(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSampling(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.in != "" && got.String() != tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
	if _, err := ParseSampling("Shuffle"); err == nil || !strings.Contains(err.Error(), `sampling = "Shuffle"`) {
		t.Errorf("ParseSampling(Shuffle) error = %v", err)
	}
	if s := Sampling(7).String(); s != "Sampling(7)" {
		t.Errorf("Sampling(7).String() = %q", s)
	}
}

func TestNewBatcherErrors(t *testing.T) {
	for _, tc := range []struct {
		n, batch int
		mode     Sampling
		msg      string
	}{
		{10, 0, Reshuffle, "batch = 0, want in [1, n = 10]"},
		{10, 11, Replacement, "batch = 11, want in [1, n = 10]"},
		{10, -3, Reshuffle, "batch = -3"},
		{0, 1, Reshuffle, "n = 0, want ≥ 1"},
		{10, 2, Sampling(2), "mode = Sampling(2)"},
	} {
		_, err := NewBatcher(tc.n, tc.batch, tc.mode, 1, 2)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "dataset: NewBatcher: ") {
			t.Errorf("NewBatcher(%d, %d, %v) error = %v, want %q", tc.n, tc.batch, tc.mode, err, tc.msg)
		}
	}
}

// TestReshuffleEpochs: with B | n every index appears exactly once per
// epoch, epochs are different permutations, and Epoch counts them.
func TestReshuffleEpochs(t *testing.T) {
	const n, B, epochs = 12, 4, 6
	b := mustBatcher(t, n, B, Reshuffle, 1, 2)
	if b.BatchesPerEpoch() != 3 || b.Epoch() != 0 {
		t.Fatalf("BatchesPerEpoch, Epoch = %d, %d; want 3, 0", b.BatchesPerEpoch(), b.Epoch())
	}
	var orders [][]int
	for e := range epochs {
		var order []int
		for k := range 3 {
			if got := b.Epoch(); got != e {
				t.Fatalf("before batch %d of epoch %d: Epoch() = %d", k, e, got)
			}
			batch := b.Next()
			if len(batch) != B {
				t.Fatalf("batch of %d indices, want %d", len(batch), B)
			}
			order = append(order, batch...)
		}
		if got := slices.Sorted(slices.Values(order)); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) {
			t.Fatalf("epoch %d indices %v: not each index exactly once", e, order)
		}
		orders = append(orders, order)
	}
	if b.Epoch() != epochs {
		t.Errorf("Epoch() = %d after %d epochs", b.Epoch(), epochs)
	}
	for e := 1; e < epochs; e++ {
		if slices.Equal(orders[e], orders[0]) {
			t.Errorf("epoch %d repeats the order of epoch 0", e)
		}
	}
}

// TestReshufflePartial: with n = 10, B = 3 each permutation yields 3
// batches of distinct indices and its last index is dropped; over many
// epochs every index is still used, each about 9/10 of the epochs.
func TestReshufflePartial(t *testing.T) {
	const n, B, epochs = 10, 3, 2000
	b := mustBatcher(t, n, B, Reshuffle, 5, 6)
	var uses [n]int
	for e := range epochs {
		seen := make(map[int]bool)
		for range 3 {
			for _, i := range b.Next() {
				if i < 0 || i >= n || seen[i] {
					t.Fatalf("epoch %d: index %d repeated or out of range", e, i)
				}
				seen[i] = true
				uses[i]++
			}
		}
		if b.Epoch() != e+1 {
			t.Fatalf("Epoch() = %d after epoch %d", b.Epoch(), e)
		}
	}
	// Each index is dropped from an epoch with probability 1/10: uses are
	// Binomial(2000, 0.9), mean 1800, s.d. 13.4; ±80 is 6 s.d.
	for i, u := range uses {
		if u < 1720 || u > 1880 {
			t.Errorf("index %d used in %d of %d epochs, want 1800 ± 80", i, u, epochs)
		}
	}
}

// TestReplacement: indices in range, repeats within a batch possible, and
// uniform: with 20000 draws over 10 indices each count is 2000 ± 42 (s.d.).
func TestReplacement(t *testing.T) {
	const n, B = 10, 10
	b := mustBatcher(t, n, B, Replacement, 7, 8)
	var count [n]int
	repeats := false
	for range 2000 {
		batch := b.Next()
		seen := make(map[int]bool)
		for _, i := range batch {
			if i < 0 || i >= n {
				t.Fatalf("index %d outside [0, %d)", i, n)
			}
			repeats = repeats || seen[i]
			seen[i] = true
			count[i]++
		}
	}
	if !repeats {
		t.Error("no batch of 10 from 10 repeated an index: not sampling with replacement")
	}
	for i, c := range count {
		if c < 1750 || c > 2250 {
			t.Errorf("index %d drawn %d times of 20000, want 2000 ± 250", i, c)
		}
	}
	if b.Epoch() != 2000 {
		t.Errorf("Epoch() = %d after 2000 batches of n/B = 1, want 2000", b.Epoch())
	}
}

func TestBatcherNoAllocs(t *testing.T) {
	for _, mode := range []Sampling{Reshuffle, Replacement} {
		// n = 50, B = 7: a new permutation every 7 calls, so the runs
		// include reshuffles.
		b := mustBatcher(t, 50, 7, mode, 1, 1)
		if a := testing.AllocsPerRun(1000, func() { b.Next() }); a != 0 {
			t.Errorf("%v: %g allocations per Next, want 0", mode, a)
		}
	}
}

func TestBatcherDeterminism(t *testing.T) {
	for _, mode := range []Sampling{Reshuffle, Replacement} {
		a := draw(mustBatcher(t, 100, 10, mode, 3, 4), 25)
		b := draw(mustBatcher(t, 100, 10, mode, 3, 4), 25)
		c := draw(mustBatcher(t, 100, 10, mode, 3, 5), 25)
		if !slices.EqualFunc(a, b, slices.Equal) {
			t.Errorf("%v: same seeds, different batches", mode)
		}
		if slices.EqualFunc(a, c, slices.Equal) {
			t.Errorf("%v: different seeds, same batches", mode)
		}
	}
}

// TestBatcherCallerMayModify: writing into the returned slice does not
// change later batches.
func TestBatcherCallerMayModify(t *testing.T) {
	a := mustBatcher(t, 20, 5, Reshuffle, 1, 2)
	b := mustBatcher(t, 20, 5, Reshuffle, 1, 2)
	for k := range 12 {
		x, y := a.Next(), b.Next()
		if !slices.Equal(x, y) {
			t.Fatalf("batch %d: %v vs %v", k, x, y)
		}
		slices.Reverse(x)
		x[0] = -1
	}
}

// TestBatcherMarshal: a Batcher restored from its marshalled state, at any
// point (fresh, mid-epoch, at an epoch boundary), continues with the same
// batches and epoch count as the original.
func TestBatcherMarshal(t *testing.T) {
	for _, mode := range []Sampling{Reshuffle, Replacement} {
		for _, skip := range []int{0, 1, 4, 5, 13} {
			t.Run(fmt.Sprintf("%v/skip%d", mode, skip), func(t *testing.T) {
				orig := mustBatcher(t, 23, 4, mode, 9, 10) // 5 batches per epoch, 3 dropped
				draw(orig, skip)
				data, err := orig.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				var restored Batcher
				if err := restored.UnmarshalBinary(data); err != nil {
					t.Fatal(err)
				}
				if restored.Epoch() != orig.Epoch() {
					t.Errorf("Epoch = %d, want %d", restored.Epoch(), orig.Epoch())
				}
				want, got := draw(orig, 17), draw(&restored, 17)
				if !slices.EqualFunc(want, got, slices.Equal) {
					t.Errorf("restored batches differ:\n got %v\nwant %v", got, want)
				}
				if restored.Epoch() != orig.Epoch() {
					t.Errorf("after 17 more: Epoch = %d, want %d", restored.Epoch(), orig.Epoch())
				}
				if a := testing.AllocsPerRun(100, func() { restored.Next() }); a != 0 {
					t.Errorf("restored Batcher allocates %g per Next", a)
				}
			})
		}
	}
}

func TestBatcherUnmarshalErrors(t *testing.T) {
	b := mustBatcher(t, 6, 2, Reshuffle, 1, 2)
	b.Next()
	good, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Offsets: magic 0..7, mode 8, n 9..16, batch 17..24, pos 25..32,
	// steps 33..40, PCG length 41..42, PCG 43..62, count 63, perm 64..69.
	patch := func(off int, v ...byte) []byte {
		d := slices.Clone(good)
		copy(d[off:], v)
		return d
	}
	perm := good[64:70]
	dup := slices.Clone(perm)
	dup[1] = dup[0]
	for _, tc := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"magic", patch(0, 'x'), "magic"},
		{"mode", patch(8, 9), "mode = Sampling(9)"},
		{"batch", patch(24, 7), "batch = 7"},
		{"pos", patch(32, 7), "pos = 7"},
		{"pcg", patch(43, 'x'), "PCG"},
		{"duplicate", patch(64, dup...), "not a permutation"},
		{"out of range", patch(65, 6), "perm[1] = 6"},
		{"trailing", append(slices.Clone(good), 0), "1 trailing bytes"},
		{"empty", nil, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Batcher
			err := r.UnmarshalBinary(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "dataset: Batcher.UnmarshalBinary: ") {
				t.Errorf("error = %v, want one containing %q", err, tc.msg)
			}
		})
	}
	// Every truncation fails, and a failed UnmarshalBinary leaves the
	// receiver unchanged.
	for k := range len(good) {
		r := mustBatcher(t, 3, 1, Replacement, 5, 5)
		if err := r.UnmarshalBinary(good[:k]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", k)
		}
		if r.n != 3 || r.mode != Replacement {
			t.Fatalf("failed UnmarshalBinary changed the receiver")
		}
	}
	var zero Batcher
	if _, err := zero.MarshalBinary(); err == nil {
		t.Error("MarshalBinary of the zero Batcher: no error")
	}
}

func TestBatchSize(t *testing.T) {
	for _, tc := range []struct {
		n, batch int
		fraction float64
		want     int
		msg      string
	}{
		{1000, 0, 0.05, 50, ""}, // Figure 2: 5% subsampling
		{1000, 0, 0.02, 20, ""}, // Figure 1: 2% subsampling
		{500, 25, 0, 25, ""},    // the authors' spirals
		{100, 0, 0.29, 29, ""},  // 0.29·100 = 28.999999999999996 in floating point
		{5, 0, 0.5, 3, ""},      // 2.5 rounds away from zero
		{100, 0, 0.001, 1, ""},  // rounds to 0, clamped to 1
		{7, 0, 1, 7, ""},        // the full batch
		{10, 10, 0, 10, ""},     // batch = n
		{10, 11, 0, 0, "batch = 11 exceeds n = 10"},
		{10, -1, 0, 0, "batch = -1"},
		{10, 0, 0, 0, "neither batch nor fraction"},
		{10, 0, 1.5, 0, "fraction = 1.5"},
		{10, 0, -0.1, 0, "fraction = -0.1"},
		{10, 0, math.NaN(), 0, "fraction = NaN"},
		{10, 5, 0.5, 0, "batch = 5 and fraction = 0.5 are both set"},
		{0, 1, 0, 0, "n = 0"},
	} {
		got, err := BatchSize(tc.n, tc.batch, tc.fraction)
		switch {
		case tc.msg == "" && (err != nil || got != tc.want):
			t.Errorf("BatchSize(%d, %d, %g) = %d, %v; want %d", tc.n, tc.batch, tc.fraction, got, err, tc.want)
		case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("BatchSize(%d, %d, %g) error = %v, want %q", tc.n, tc.batch, tc.fraction, err, tc.msg)
		}
	}
}
