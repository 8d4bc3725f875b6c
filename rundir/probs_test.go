package rundir

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendSig6 checks the fast formatter against strconv on random
// probabilities at every scale, on powers of ten and their neighbours, and
// on values that round up to the next power of ten.
func TestAppendSig6(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var vals []float64
	for i := 0; i < 200000; i++ {
		vals = append(vals, math.Pow(10, -6*rng.Float64()), rng.Float64())
	}
	for e := -6; e <= 0; e++ {
		p := math.Pow(10, float64(e))
		vals = append(vals, p, math.Nextafter(p, 0), math.Nextafter(p, 2), p*0.9999996, p*0.9999994, p*0.99999949999)
	}
	vals = append(vals, 0, 1, 0.5, 0.1234565, 0.9999995, 0.09999995, 1e-4, 0.00099999951, math.Inf(1), -0.25, 2)
	diff := 0
	for _, v := range vals {
		got := string(appendSig6(nil, v))
		want := strconv.FormatFloat(v, 'g', 6, 64)
		if got == want {
			continue
		}
		// Only a tie within an ulp may round the other way; the value
		// must still read back within half a unit of the 6th digit.
		g, err := strconv.ParseFloat(got, 64)
		w, _ := strconv.ParseFloat(want, 64)
		if err != nil || math.Abs(g-w) > 1.0000001*math.Abs(w)*1e-5 {
			t.Fatalf("appendSig6(%v) = %s, strconv gives %s", v, got, want)
		}
		diff++
	}
	t.Logf("%d of %d differ in the last digit", diff, len(vals))
	if diff > len(vals)/10000 {
		t.Errorf("%d of %d values differ from strconv in the last digit; only near-ties should", diff, len(vals))
	}
}

func BenchmarkAppendSig6(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = math.Pow(10, -4*rng.Float64())
	}
	buf := make([]byte, 0, 64)
	b.Run("fast", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf = appendSig6(buf[:0], vals[i%len(vals)])
		}
	})
	b.Run("strconv", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf = strconv.AppendFloat(buf[:0], vals[i%len(vals)], 'g', 6, 64)
		}
	})
}

// TestHandJSONMatchesEncodingJSON: the reflection-free encoders of
// predictions.json and grid.json write what encoding/json writes.
func TestHandJSONMatchesEncodingJSON(t *testing.T) {
	p := Predictions{Classes: 2, Labels: []int{0, 1}, K: 3, Final: []Probs{{0.25, 0.75}, {1e-9, 1}}, Averaged: []Probs{{0.5, 0.5}, {0.1234567, 0.8765433}}}
	g := Grid{X: []float64{-1, 0.5}, Y: []float64{2}, Final: []Probs{{0.3, 0.7}}, Averaged: []Probs{{0.31, 0.69}}, Points: [][]float64{{0.1, -0.2, 1}}}
	for _, tc := range []struct {
		name string
		hand []byte
		v    any
	}{{"predictions", p.AppendJSON(nil), p}, {"grid", g.AppendJSON(nil), g}} {
		want, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tc.hand, want) {
			t.Errorf("%s:\nhand %s\njson %s", tc.name, tc.hand, want)
		}
	}
}
