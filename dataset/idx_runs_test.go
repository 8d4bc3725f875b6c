package dataset

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestReadIDXManyRuns reads an image file of 3,000 28×28 images, about
// 2.2 idxReadRun's worth, so that ReadIDXImages reads it in several runs:
// every pixel must arrive in place, and a file cut inside a later run must
// name the first incomplete image, counted over all runs.
func TestReadIDXManyRuns(t *testing.T) {
	const count, rows, cols = 3000, 28, 28
	dim := rows * cols
	if count*dim < 2*idxReadRun {
		t.Fatalf("%d bytes of pixels fit in fewer than three runs of %d", count*dim, idxReadRun)
	}
	img := idxImages(count, rows, cols)
	labels := make([]byte, count)
	for i := range labels {
		labels[i] = byte(i % 10)
	}
	lab := idxLabels(labels...)
	for _, zip := range []bool{false, true} {
		in := img
		if zip {
			in = gz(t, img)
		}
		s, err := ReadIDX(bytes.NewReader(in), bytes.NewReader(lab), 0)
		if err != nil {
			t.Fatal(err)
		}
		checkIDX(t, s, count, rows, cols, labels)

		// Cut the file inside image 2,100 (the third run) and inside
		// the last image.
		for _, cut := range []int{2100, count - 1} {
			short := img[:16+cut*dim+dim/2]
			if zip {
				short = gz(t, short)
			}
			_, err := ReadIDX(bytes.NewReader(short), bytes.NewReader(lab), 0)
			want := fmt.Sprintf("reading image %d of %d", cut, count)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("gzip %v, cut in image %d: error = %v, want one containing %q", zip, cut, err, want)
			}
		}
	}
}
