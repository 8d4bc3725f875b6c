package protocol

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchResult returns a Result shaped like a typical small replica's: its
// files inline, ~75 KB in all (a 68 KB grid.json, 2 KB of predictions, a
// trajectory, the two parameter vectors and result.json).
func benchResult() *Result {
	rng := rand.New(rand.NewPCG(1, 2))
	text := func(prefix string, size int) []byte {
		b := append([]byte(nil), prefix...)
		for len(b) < size-2 {
			b = strconv.AppendFloat(b, rng.Float64(), 'g', 6, 64)
			b = append(b, ',')
		}
		return append(b, "]}"...)
	}
	binary := func(size int) []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	summary := json.RawMessage(`{"version":1,"status":"done","steps":30000,"final":{"step":30000,"train_loss":0.1,"train_acc":0.98,"test_loss":0.2,"test_acc":0.93}}`)
	m := validResult()
	m.Summary = summary
	m.Artifacts = nil
	m.Files = []InlineFile{
		{File: "grid.json", Data: text(`{"x":[`, 68<<10)},
		{File: "init_params.bin", Data: binary(150)},
		{File: "interp.csv", Data: text("alpha,train_loss,test_loss\n", 1200)},
		{File: "params.bin", Data: binary(150)},
		{File: "predictions.json", Data: text(`{"classes":2,"final":[`, 2<<10)},
		{File: "trajectory.csv", Data: text("step,train_loss,train_acc\n", 3<<10)},
		{File: "result.json", Data: summary},
	}
	return m
}

func BenchmarkDecodeResult(b *testing.B) {
	data, err := Encode(benchResult())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResult(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResult(b *testing.B) {
	m := benchResult()
	b.ReportAllocs()
	for b.Loop() {
		data, err := Encode(m)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}
