package dataset

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadMNISTErrorsNameFolderAndFile: a missing file, a missing folder
// and a damaged file are one-line errors naming the folder (or the file's
// path) and the file, with no package prefix; a missing one is a
// *MissingFileError that wraps fs.ErrNotExist.
func TestLoadMNISTErrorsNameFolderAndFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nowhere := filepath.Join(dir, "nowhere")
	_, errNoDir := LoadMNIST(nowhere, true, 0)
	_, errEmpty := LoadMNIST(dir, true, 0)
	write("train-images-idx3-ubyte.gz", gz(t, idxImages(2, 2, 3)))
	_, errNoLabels := LoadMNIST(dir, true, 0)
	write("train-labels-idx1-ubyte", idxImages(2, 2, 3)) // images where labels belong
	_, errBadLabels := LoadMNIST(dir, true, 0)
	write("t10k-images-idx3-ubyte", idxImages(2, 2, 3))
	write("t10k-labels-idx1-ubyte", idxLabels(1, 2, 3))
	_, errCounts := LoadMNIST(dir, false, 0)
	for _, tc := range []struct {
		name    string
		err     error
		want    string
		missing bool
	}{
		{"no folder", errNoDir, "MNIST folder " + nowhere + " does not exist", true},
		{"empty folder", errEmpty, "MNIST folder " + dir + " has no train-images-idx3-ubyte (nor train-images-idx3-ubyte.gz)", true},
		{"no labels", errNoLabels, "MNIST folder " + dir + " has no train-labels-idx1-ubyte (nor train-labels-idx1-ubyte.gz)", true},
		{"bad labels", errBadLabels, filepath.Join(dir, "train-labels-idx1-ubyte") + ": magic = 0x00000803, want 0x00000801", false},
		{"counts", errCounts, filepath.Join(dir, "t10k-images-idx3-ubyte") + " and " + filepath.Join(dir, "t10k-labels-idx1-ubyte") +
			": image count = 2, label count = 3", false},
	} {
		var mf *MissingFileError
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
		if errors.As(tc.err, &mf) != tc.missing || errors.Is(tc.err, fs.ErrNotExist) != tc.missing {
			t.Errorf("%s: a *MissingFileError wrapping fs.ErrNotExist: %v, want %v", tc.name, !tc.missing, tc.missing)
		}
	}
}
