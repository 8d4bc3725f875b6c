package dataset

import (
	"os"
	"testing"
)

// BenchmarkLoadMNISTImages times what a heatbath MNIST run reads at
// start-up: the gzipped training and test files of $HEATBATH_MNIST_DIR
// (60,000 + 10,000 images, 55 MB of pixels) decoded and kept as bytes. It
// skips when the variable is unset (see TestLoadMNISTReal).
func BenchmarkLoadMNISTImages(b *testing.B) {
	dir := os.Getenv("HEATBATH_MNIST_DIR")
	if dir == "" {
		b.Skip("HEATBATH_MNIST_DIR not set")
	}
	for b.Loop() {
		for _, train := range []bool{true, false} {
			if _, err := LoadMNISTImages(dir, train, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}
