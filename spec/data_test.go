package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dataSpec = `
name: csvspec
data: {kind: csv, path: %s}
model: {hidden: [4]}
steps: 10
batch: 2
seeds: 2
methods:
  - name: adam
    lr: 0.01
`

// writeSpecWithCSV writes a spec and, next to it, the CSV it names by a
// relative path, in a new folder, and returns the spec's path.
func writeSpecWithCSV(t *testing.T, csvName, csv string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, csvName), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(dataSpec, csvName)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(t *testing.T, f *File) []string {
	t.Helper()
	reps, err := f.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{f.SweepID()}
	for _, r := range reps {
		out = append(out, r.ID)
	}
	return out
}

// TestDataPathRelativeToSpec: a CSV named by a relative path is found next
// to the spec, whatever the working directory, and its hash is recorded.
func TestDataPathRelativeToSpec(t *testing.T) {
	const csv = "0.1,0.2,0\n0.3,0.4,1\n"
	p := writeSpecWithCSV(t, "d.csv", csv)
	t.Chdir(t.TempDir()) // no d.csv here
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(csv))
	if want := filepath.Join(filepath.Dir(p), "d.csv"); f.Spec.Data.Path != want {
		t.Errorf("data.path %q, want %q", f.Spec.Data.Path, want)
	}
	if want := hex.EncodeToString(sum[:]); f.Spec.Data.SHA256 != want {
		t.Errorf("data.sha256 %q, want %q", f.Spec.Data.SHA256, want)
	}
	// A missing file is an error that names the field.
	if err := os.Remove(f.Spec.Data.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil {
		t.Error("Load of a spec whose CSV is missing: no error")
	}
}

// TestDataContentNotPathMakesTheID: the same CSV contents at two paths
// give the same sweep and replica ids; other contents give others.
func TestDataContentNotPathMakesTheID(t *testing.T) {
	const csv = "0.1,0.2,0\n0.3,0.4,1\n"
	load := func(name, text string) []string {
		f, err := Load(writeSpecWithCSV(t, name, text))
		if err != nil {
			t.Fatal(err)
		}
		return ids(t, f)
	}
	a, b, c := load("a.csv", csv), load("b.csv", csv), load("a.csv", csv+"0.5,0.6,1\n")
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("id %d: %s at one path, %s at another, same contents", i, a[i], b[i])
		}
		if a[i] == c[i] {
			t.Errorf("id %d: %s for different contents", i, a[i])
		}
	}
}

// TestMNISTFolderRelativeToSpec: an MNIST folder named by a relative path
// is the one next to the spec, whatever the working directory; a missing
// folder, or a file in its place, is an error at data.dir.
func TestMNISTFolderRelativeToSpec(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "mnist"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "spec.yaml")
	write := func(dataDir string) {
		t.Helper()
		src := fmt.Sprintf("name: m\ndata: {kind: mnist, dir: %s}\nsteps: 10\nbatch: 2\nmethods: [{name: adam, lr: 0.01}]\n", dataDir)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mnist")
	t.Chdir(t.TempDir()) // no mnist folder here
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "mnist"); f.Spec.Data.Dir != want {
		t.Errorf("data.dir %q, want %q", f.Spec.Data.Dir, want)
	}
	write("nowhere")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "spec.yaml:2:") || !strings.Contains(err.Error(), "data.dir: ") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "nowhere")) {
		t.Errorf("missing folder: %v, want an error at data.dir naming it", err)
	}
	write("spec.yaml")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("a file for the folder: %v", err)
	}
}
