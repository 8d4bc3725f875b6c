package dataset

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestImagesSplitEqualsSplitSet: splitting the byte images gives the
// parts SplitSet gives on the converted set, bit for bit (points, labels,
// classes), and leaves the random source in the same state.
func TestImagesSplitEqualsSplitSet(t *testing.T) {
	const n, rows, cols = 50, 3, 4
	var img bytes.Buffer
	img.Write([]byte{0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, rows, 0, 0, 0, cols})
	lab := []byte{0, 0, 8, 1, 0, 0, 0, n}
	for i := range n {
		for k := range rows * cols {
			img.WriteByte(byte(i*37 + k*11))
		}
		lab = append(lab, byte(i%10))
	}
	im, err := ReadIDXImages(bytes.NewReader(img.Bytes()), bytes.NewReader(lab), 0)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := ReadIDX(bytes.NewReader(img.Bytes()), bytes.NewReader(lab), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(im.Set(), whole) {
		t.Fatal("Images.Set differs from ReadIDX")
	}
	srcA, srcB := rand.NewPCG(3, 4), rand.NewPCG(3, 4)
	for _, sizes := range [][]int{{20, 5}, {7}, {0, 50}} {
		got, err := im.Split(sizes, srcA)
		if err != nil {
			t.Fatal(err)
		}
		want, err := SplitSet(whole, sizes, srcB)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("sizes %v: Images.Split differs from SplitSet", sizes)
		}
	}
	if srcA.Uint64() != srcB.Uint64() {
		t.Fatal("the sources are in different states after the splits")
	}
	if _, err := im.Split([]int{40, 11}, srcA); err == nil {
		t.Fatal("sizes past Len were accepted")
	}
}

// TestImagesFilterClassesEqualsFilterClasses: filtering the byte images
// keeps the points FilterClasses keeps on the converted set, relabelled
// the same, and fails where it fails with the same message.
func TestImagesFilterClassesEqualsFilterClasses(t *testing.T) {
	const n, rows, cols = 60, 2, 3
	var img bytes.Buffer
	img.Write([]byte{0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, rows, 0, 0, 0, cols})
	lab := []byte{0, 0, 8, 1, 0, 0, 0, n}
	for i := range n {
		for k := range rows * cols {
			img.WriteByte(byte(i*29 + k*7))
		}
		lab = append(lab, byte((i*7)%10))
	}
	im, err := ReadIDXImages(bytes.NewReader(img.Bytes()), bytes.NewReader(lab), 0)
	if err != nil {
		t.Fatal(err)
	}
	whole := im.Set()
	for _, digits := range [][]int{{3, 8}, {8, 3, 0}, {9}} {
		got, err := im.FilterClasses(digits)
		if err != nil {
			t.Fatal(err)
		}
		want, err := FilterClasses(whole, digits)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Set(), want) {
			t.Fatalf("digits %v: Images.FilterClasses differs from FilterClasses", digits)
		}
	}
	for _, digits := range [][]int{nil, {3, 3}, {10}} {
		_, err := im.FilterClasses(digits)
		_, want := FilterClasses(whole, digits)
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Fatalf("digits %v: err = %v, FilterClasses: %v", digits, err, want)
		}
	}
}
