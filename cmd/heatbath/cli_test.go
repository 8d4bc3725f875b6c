package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// runCLI runs the app as main does (flags may follow arguments) and
// returns its error.
func runCLI(t *testing.T, args ...string) error {
	t.Helper()
	app := newApp()
	app.Writer, app.ErrWriter = &logBuffer{}, &logBuffer{}
	return app.RunContext(context.Background(), flagsFirst(app, append([]string{"heatbath"}, args...)))
}

// TestBadInputNamesTheField: bad flags and spec values give one-line errors
// that name the field and the value, or the flag the user typed.
func TestBadInputNamesTheField(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nsteps: 100\nbatch: 10\ndata: {kind: spiral}\nmethods:\n  - name: adlala\n    h: 0.1\n    hiden: {tau: 1}\n"), 0o644)
	layer := filepath.Join(dir, "layer.yaml")
	os.WriteFile(layer, []byte("name: x\nsteps: 100\nbatch: 10\ndata: {kind: spiral}\nmethods:\n  - name: partitioned\n    h: 0.1\n    groups:\n      - {tensors: [layer0], integrator: adaptive}\n      - {tensors: [layer3], integrator: langevin}\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--step-size", "-0.1", "--steps", "10"}, "--step-size: -0.1 must be a positive step size"},
		{[]string{"train", "--lr=-0.1", "--steps", "10"}, "--lr: -0.1 must be a positive step size"},
		{[]string{"train", "--method", "adalala", "--steps", "10"}, `--method: "adalala" is unknown`},
		{[]string{"train", "--batch", "5000", "--steps", "10"}, "--batch: 5000 is more than the 500 training points (data.train)"},
		{[]string{"train", "--activation", "sigmoid"}, `--activation: "sigmoid" is unknown (want relu or tanh)`},
		{[]string{"train", "--data", "spirals"}, `--data: "spirals" is unknown`},
		{[]string{"train", "--hidden", "10,0"}, `--hidden: 0 must be a positive layer width`},
		{[]string{"train", "--sigma-a", "-1"}, `--sigma-a: -1 must be finite and non-negative`},
		{[]string{"train", "--data", "csv"}, `--data-path: missing`},
		{[]string{"train", "--hidden", "10,x"}, `--hidden: "x" is not a layer width`},
		{[]string{"train", "--tau", "hot"}, `--tau: "hot" is not a number`},
		{[]string{"train", "--no-such-flag"}, "train: unknown flag --no-such-flag"},
		{[]string{"train", bad}, `bad.yaml:8:5: methods[0].hiden: unknown key; did you mean "hidden"?`},
		{[]string{"train", layer}, `"layer3": layer 3 does not exist`},
		{[]string{"train", bad, "--method", "sgd"}, "--method: give the chain either as a spec file or as flags"},
		{[]string{"validate", filepath.Join(dir, "missing.yaml")}, "spec file " + filepath.Join(dir, "missing.yaml") + " does not exist"},
		{[]string{"run", "--workers", "0"}, "--workers 0 must be at least 1"},
		{[]string{"status", "some-sweep", "--nats", "nats://127.0.0.1:1"}, "cannot connect to NATS at nats://127.0.0.1:1"},
		{[]string{"report", dir}, "is not a run directory"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "goroutine") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestWrongCredentials: a server that requires a password refuses a wrong
// one with a clear error.
func TestWrongCredentials(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, Username: "u", Password: "right", NoLog: true, NoSigs: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(5e9) {
		t.Fatal("server not ready")
	}
	err = runCLI(t, "status", "x", "--nats", ns.ClientURL(), "--user", "u", "--password", "wrong")
	if err == nil || !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("err = %v, want an authorization error", err)
	}
}

// TestTrainWritesResultDirectory runs `heatbath train` end to end and
// checks the documented files.
func TestTrainWritesResultDirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r")
	if err := runCLI(t, "train", "-q", "--steps", "400", "--eval-every", "100", "--hidden", "8", "--train-size", "100",
		"--test-size", "100", "--batch", "10", "--out", out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"replica.json", "result.json", "trajectory.csv", "params.safetensors", "best_params.safetensors", "init_params.safetensors",
		"predictions.json", "grid.json", "interp.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	var res struct {
		Status string `json:"status"`
		Steps  int64  `json:"steps"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "result.json"))
	if err := json.Unmarshal(b, &res); err != nil || res.Status != "done" || res.Steps != 400 {
		t.Fatalf("result.json %s (%v)", b, err)
	}
	traj, _ := os.ReadFile(filepath.Join(out, "trajectory.csv"))
	if n := strings.Count(string(traj), "\n"); n != 6 { // header + steps 0,100,...,400
		t.Errorf("trajectory has %d lines, want 6", n)
	}
}
