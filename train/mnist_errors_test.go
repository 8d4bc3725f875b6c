package train

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestMNISTFolderErrors: an MNIST folder without its files is one line
// naming the field, the folder and the missing file, with no package
// prefix.
func TestMNISTFolderErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := spiralConfig(adlala(), 100)
	cfg.Data = protocol.DataConfig{Kind: "mnist", Dir: dir}
	_, err := Build(cfg)
	want := "data.dir: MNIST folder " + dir + " has no train-images-idx3-ubyte (nor train-images-idx3-ubyte.gz)"
	if err == nil || err.Error() != want || strings.Contains(err.Error(), "dataset:") {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestCSVFileMissing: a CSV file that does not exist is one line naming
// the field and the file, with no package prefix.
func TestCSVFileMissing(t *testing.T) {
	cfg := spiralConfig(adlala(), 100)
	path := filepath.Join(t.TempDir(), "nothere.csv")
	cfg.Data = protocol.DataConfig{Kind: "csv", Path: path}
	_, err := Build(cfg)
	if want := "data.path: CSV file " + path + " does not exist"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
