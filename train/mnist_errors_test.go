package train

import (
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
