package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/internal/pyclient"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// decodeArtifact decodes a parameter file of r's artifacts.
func decodeArtifact(t *testing.T, files map[string][]byte, name string) (rundir.ParamsMeta, []float64) {
	t.Helper()
	m, theta, err := rundir.DecodeParams(files[name])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m, theta
}

// TestParameterFiles checks the three parameter files of a finished
// replica: the final ones are the chain's, the initial ones Init, and the
// best ones reproduce, evaluated again, exactly the validation loss the
// result reports as best.
func TestParameterFiles(t *testing.T) {
	cfg := spiralConfig(adlala(), 1000)
	r := mustBuild(t, cfg)
	r.ID = "r0003-0123abcd"
	collect(t, r, cfg.Steps)
	res := r.Result()
	files, err := r.Artifacts(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rundir.ResultFiles() {
		if _, ok := files[name]; !ok {
			t.Errorf("Artifacts lacks %s", name)
		}
	}
	if len(files) != len(rundir.ResultFiles()) {
		t.Errorf("Artifacts has %d files, rundir.ResultFiles lists %d", len(files), len(rundir.ResultFiles()))
	}

	fm, final := decodeArtifact(t, files, rundir.FileParams)
	if !slices.Equal(final, r.Chain.Theta()) || fm.Parameters != rundir.ParamsFinal || fm.Step != cfg.Steps {
		t.Errorf("params.safetensors: %+v, not the final parameters", fm)
	}
	im, init := decodeArtifact(t, files, rundir.FileInitParams)
	if !slices.Equal(init, r.Init) || im.Parameters != rundir.ParamsInit || im.Step != 0 {
		t.Errorf("init_params.safetensors: %+v, not the initial parameters", im)
	}
	bm, best := decodeArtifact(t, files, rundir.FileBestParams)
	if bm.Parameters != rundir.ParamsBest || bm.Step != res.Best.Step {
		t.Errorf("best_params.safetensors: %+v, result's best step %d", bm, res.Best.Step)
	}
	if res.BestBy != "val_loss" || res.Best.Step == 0 || res.Best.Step == cfg.Steps {
		t.Fatalf("best by %s at step %d: pick a run whose best is inside it", res.BestBy, res.Best.Step)
	}
	loss, acc := r.Model.Evaluate(r.evalWS, best, r.Val.X, r.Val.Y)
	if loss != rundir.Value(res.Best.ValLoss) || acc != rundir.Value(res.Best.ValAcc) {
		t.Errorf("best parameters give validation loss %v acc %v, the result's best is %v %v",
			loss, acc, rundir.Value(res.Best.ValLoss), rundir.Value(res.Best.ValAcc))
	}
	if slices.Equal(best, final) {
		t.Error("best parameters equal the final ones although the best step is not the last")
	}

	want := rundir.ParamsMeta{Parameters: rundir.ParamsFinal, Step: cfg.Steps, Widths: []int{2, 20, 1}, Activation: "relu",
		InputScaling: rundir.ScalingNone, Classes: 2, Replica: "r0003-0123abcd"}
	if fmt.Sprint(fm) != fmt.Sprint(want) {
		t.Errorf("metadata %+v, want %+v", fm, want)
	}
}

// writeIDX writes a tiny MNIST-shaped data set (n images of 3×3 pixels,
// labels 0–9) as the IDX files LoadMNIST reads.
func writeIDX(t *testing.T, dir, prefix string, n int, rng *rand.Rand) {
	t.Helper()
	img := binary.BigEndian.AppendUint32(nil, 0x803)
	img = binary.BigEndian.AppendUint32(img, uint32(n))
	img = binary.BigEndian.AppendUint32(img, 3)
	img = binary.BigEndian.AppendUint32(img, 3)
	lab := binary.BigEndian.AppendUint32(nil, 0x801)
	lab = binary.BigEndian.AppendUint32(lab, uint32(n))
	for i := range n {
		for range 9 {
			img = append(img, byte(rng.IntN(256)))
		}
		lab = append(lab, byte(i%10))
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), lab, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParamsMetaMNIST: MNIST's pixels are scaled by 1/255 and ten classes
// give a softmax over ten outputs.
func TestParamsMetaMNIST(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	writeIDX(t, dir, "train", 60, rng)
	writeIDX(t, dir, "t10k", 20, rng)
	cfg := protocol.ReplicaConfig{Data: protocol.DataConfig{Kind: "mnist", Dir: dir, Validation: 10},
		Model: protocol.ModelConfig{Hidden: []int{8, 6}, Activation: "tanh"}, Method: protocol.MethodConfig{Name: "sgd", H: 0.1},
		Steps: 20, EvalEvery: 10, Batch: 10, Seed: 1, DataSeed: 1}
	r := mustBuild(t, cfg)
	collect(t, r, cfg.Steps)
	files, err := r.Artifacts(r.Result())
	if err != nil {
		t.Fatal(err)
	}
	m, theta := decodeArtifact(t, files, rundir.FileBestParams)
	want := rundir.ParamsMeta{Parameters: rundir.ParamsBest, Step: r.best.Step, Widths: []int{9, 8, 6, 10}, Activation: "tanh",
		InputScaling: rundir.ScalingPixels, Classes: 10}
	if fmt.Sprint(m) != fmt.Sprint(want) || m.Output() != rundir.OutputSoftmax || len(theta) != r.Model.NumParams() {
		t.Errorf("metadata %+v (%s), want %+v", m, m.Output(), want)
	}
	if _, ok := files[rundir.FileGrid]; ok {
		t.Error("9-dimensional data wrote grid.json")
	}
}

// TestCheckpointCarriesBestParams: a replica restored from a checkpoint
// writes the same files, best_params.safetensors included, as the one
// that wrote the checkpoint; a checkpoint of the format before the best
// parameters is refused by name.
func TestCheckpointCarriesBestParams(t *testing.T) {
	cfg := spiralConfig(adlala(), 1000)
	a := mustBuild(t, cfg)
	collect(t, a, 400)
	if a.best.Step == 0 {
		t.Fatal("no best evaluation after step 0 yet: the test proves nothing")
	}
	ck, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := mustBuild(t, cfg)
	if err := b.UnmarshalBinary(ck); err != nil {
		t.Fatal(err)
	}
	fa, _ := a.Artifacts(a.Result())
	fb, _ := b.Artifacts(b.Result())
	for name := range fa {
		if !bytes.Equal(fa[name], fb[name]) {
			t.Errorf("%s differs after restoring the checkpoint", name)
		}
	}

	c := mustBuild(t, cfg)
	old := append([]byte("HBREPL01"), ck[8:]...)
	if err := c.UnmarshalBinary(old); err == nil || !strings.Contains(err.Error(), "HBREPL01") {
		t.Errorf("old checkpoint: %v", err)
	}
	if err := c.UnmarshalBinary(ck[:len(ck)-8]); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated checkpoint: %v", err)
	}
}

// TestEvaluationsAllocateNothing: with evaluations (and so updates of the
// best parameters) between the measured steps, the step loop still
// allocates nothing.
func TestEvaluationsAllocateNothing(t *testing.T) {
	cfg := spiralConfig(adlala(), 1_000_000)
	cfg.EvalEvery = 5
	r := mustBuild(t, cfg)
	collect(t, r, 1)
	n := r.Chain.Steps()
	before := r.best.Step
	if a := testing.AllocsPerRun(50, func() {
		n += 10
		_ = r.RunUntil(n, nil)
	}); a != 0 {
		t.Fatalf("10 steps with 2 evaluations allocate %v times", a)
	}
	if r.best.Step == before {
		t.Error("the best evaluation never changed while measuring: the copy of the best parameters was not exercised")
	}
}

// torchCheck runs testdata/torch_check.py on a replica directory, or
// skips when python3 or torch is missing (fails instead under CI=true).
func torchCheck(t *testing.T, dir string, args ...string) string {
	t.Helper()
	python := pyclient.Require(t, "torch")
	cmd := exec.Command(python, append([]string{filepath.Join("testdata", "torch_check.py"), dir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("torch_check.py: %v\n%s", err, out)
	}
	return string(out)
}

// writeBestGrid writes, in grid.json's shape, P(class 1) on r's grid under
// the best parameters, computed by package nn.
func writeBestGrid(t *testing.T, r *Replica, path string) {
	t.Helper()
	c := r.Train.Classes
	buf := make([]float64, GridSize*GridSize*c)
	r.Model.PredictTo(r.evalWS, buf, r.bestTheta, r.grid)
	g := rundir.Grid{X: r.gridX, Y: r.gridY}
	for j := range GridSize {
		row := make(rundir.Probs, GridSize)
		for i := range row {
			row[i] = buf[(j*GridSize+i)*c+1]
		}
		g.Final = append(g.Final, row)
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTorchLoadsParameterFiles trains small replicas in-process, writes
// their files, and has PyTorch load params.safetensors and
// best_params.safetensors into torch.nn.Sequential with
// load_state_dict(strict=True) and reproduce grid.json's probabilities
// (and those of the best parameters) to ±1 in the 6th significant digit:
// the spiral with the default network (ReLU, one hidden layer, a sigmoid
// output), and three classes in the plane with two tanh layers (a softmax
// output).
func TestTorchLoadsParameterFiles(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "three.csv")
	var b strings.Builder
	b.WriteString("x,y,label\n")
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		k := i % 3
		a := 2 * math.Pi * float64(k) / 3
		fmt.Fprintf(&b, "%.6f,%.6f,%d\n", 2*math.Cos(a)+rng.NormFloat64(), 2*math.Sin(a)+rng.NormFloat64(), k)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	three := protocol.ReplicaConfig{Data: protocol.DataConfig{Kind: "csv", Path: csv, Train: 200, Validation: 40, Test: 60},
		Model: protocol.ModelConfig{Hidden: []int{12, 7}, Activation: "tanh"}, Method: protocol.MethodConfig{Name: "adam", H: 0.01},
		Steps: 400, EvalEvery: 20, Batch: 20, Seed: 2, DataSeed: 2}
	for _, c := range []struct {
		name string
		cfg  protocol.ReplicaConfig
	}{{"spiral", spiralConfig(adlala(), 1000)}, {"three-classes", three}} {
		t.Run(c.name, func(t *testing.T) {
			r := mustBuild(t, c.cfg)
			collect(t, r, c.cfg.Steps)
			dir := t.TempDir()
			if err := r.WriteArtifacts(dir, r.Result()); err != nil {
				t.Fatal(err)
			}
			bestGrid := filepath.Join(t.TempDir(), "best_grid.json")
			writeBestGrid(t, r, bestGrid)
			out := torchCheck(t, dir, bestGrid)
			if !strings.Contains(out, "torch_check: ok") {
				t.Fatalf("torch_check.py printed %q", out)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
}
