package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Sampling is how a Batcher draws the indices of a minibatch. The values are
// stable (they appear in marshalled Batchers) and are never renumbered.
type Sampling int

const (
	// Reshuffle draws a fresh uniform permutation of 0, …, n−1 and returns
	// its consecutive slices of B indices, drawing the next permutation when
	// fewer than B indices remain. Within an epoch every index appears at
	// most once; the n mod B indices at the end of each permutation are
	// dropped, so every batch has exactly B indices and an epoch is ⌊n/B⌋
	// batches. This is the authors' scheme (a shuffling DataLoader) and the
	// Batcher of bench/torch_ref.py; with B dividing n, as in all the
	// paper's settings, nothing is dropped.
	Reshuffle Sampling = iota
	// Replacement draws the B indices of each batch independently and
	// uniformly from [0, n), so a batch may repeat an index. An "epoch" is
	// then ⌊n/B⌋ batches, the same number of steps as in Reshuffle mode.
	Replacement
)

// String returns the name ParseSampling accepts.
func (m Sampling) String() string {
	switch m {
	case Reshuffle:
		return "reshuffle"
	case Replacement:
		return "replacement"
	}
	return fmt.Sprintf("Sampling(%d)", int(m))
}

// ParseSampling maps "reshuffle" to Reshuffle and "replacement" to
// Replacement. The empty string means the default, Reshuffle.
func ParseSampling(s string) (Sampling, error) {
	switch s {
	case "", "reshuffle":
		return Reshuffle, nil
	case "replacement":
		return Replacement, nil
	}
	return 0, fmt.Errorf("dataset: sampling = %q, want %q or %q", s, "reshuffle", "replacement")
}

// Batcher yields minibatches of indices into a set of n points. It owns its
// PCG generator, so its index sequence is a function of (seed1, seed2) alone.
// Next allocates nothing. A Batcher is not safe for concurrent use.
//
// Draw order: a Reshuffle Batcher draws a permutation (n−1 integer draws,
// see the package documentation) on the first call to Next and whenever
// fewer than B indices of the current one remain; a Replacement Batcher
// draws B integers in [0, n) per call.
//
// The zero Batcher is unusable until UnmarshalBinary fills it.
type Batcher struct {
	pcg   *rand.PCG
	mode  Sampling
	n     int
	batch int
	perm  []int  // Reshuffle: the current permutation
	pos   int    // Reshuffle: first unused position of perm; n forces a new one
	steps uint64 // batches returned so far
	out   []int  // the slice Next returns
}

// NewBatcher returns a Batcher of batches of size batch over indices
// [0, n), seeded with rand.NewPCG(seed1, seed2). It fails unless n ≥ 1,
// 1 ≤ batch ≤ n and mode is Reshuffle or Replacement.
func NewBatcher(n, batch int, mode Sampling, seed1, seed2 uint64) (*Batcher, error) {
	if err := checkBatcher(n, batch, mode); err != nil {
		return nil, fmt.Errorf("dataset: NewBatcher: %w", err)
	}
	b := &Batcher{
		pcg:   rand.NewPCG(seed1, seed2),
		mode:  mode,
		n:     n,
		batch: batch,
		pos:   n,
		out:   make([]int, batch),
	}
	if mode == Reshuffle {
		b.perm = make([]int, n)
		for i := range b.perm {
			b.perm[i] = i // a valid permutation before the first draw
		}
	}
	return b, nil
}

// checkBatcher validates the shape of a Batcher.
func checkBatcher(n, batch int, mode Sampling) error {
	switch {
	case n < 1:
		return fmt.Errorf("n = %d, want ≥ 1", n)
	case batch < 1 || batch > n:
		return fmt.Errorf("batch = %d, want in [1, n = %d]", batch, n)
	case mode != Reshuffle && mode != Replacement:
		return fmt.Errorf("mode = %v, want %v or %v", mode, Reshuffle, Replacement)
	}
	return nil
}

// Next returns the indices of the next minibatch: batch indices in [0, n).
// The slice is owned by b and overwritten by the next call; the caller may
// modify it without affecting b. Next allocates nothing.
func (b *Batcher) Next() []int {
	if b.batch == 0 {
		panic("dataset: Batcher used before NewBatcher or UnmarshalBinary")
	}
	switch b.mode {
	case Reshuffle:
		if b.pos+b.batch > b.n {
			for i := range b.perm {
				b.perm[i] = i
			}
			shuffle(b.pcg, b.perm)
			b.pos = 0
		}
		copy(b.out, b.perm[b.pos:b.pos+b.batch])
		b.pos += b.batch
	case Replacement:
		for k := range b.out {
			b.out[k] = int(uintN(b.pcg, uint64(b.n)))
		}
	}
	b.steps++
	return b.out
}

// BatchesPerEpoch returns ⌊n/batch⌋, the number of batches in an epoch.
func (b *Batcher) BatchesPerEpoch() int { return b.n / b.batch }

// Epoch returns the number of completed epochs, ⌊batches returned /
// BatchesPerEpoch()⌋. In Reshuffle mode an epoch completes with the last
// full batch of a permutation.
func (b *Batcher) Epoch() int { return int(b.steps / uint64(b.n/b.batch)) }

// Marshalled Batcher layout (integers big-endian unless noted):
//
//	magic "hbbatch" and version byte 1
//	mode u8, n u64, batch u64, pos u64, steps u64
//	PCG state: length u16, then PCG.MarshalBinary bytes
//	permutation: count uvarint (n in Reshuffle mode, 0 otherwise), then
//	each entry as a uvarint
const batcherMagic = "hbbatch\x01"

// MarshalBinary encodes the full state of b (generator, permutation,
// position, batch count), so that a Batcher restored by UnmarshalBinary
// continues with exactly the same index sequence.
func (b *Batcher) MarshalBinary() ([]byte, error) {
	if b.batch == 0 {
		return nil, errors.New("dataset: Batcher.MarshalBinary: Batcher not initialised")
	}
	pcg, err := b.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("dataset: Batcher.MarshalBinary: %w", err)
	}
	buf := make([]byte, 0, len(batcherMagic)+1+4*8+2+len(pcg)+binary.MaxVarintLen64*(1+len(b.perm)))
	buf = append(buf, batcherMagic...)
	buf = append(buf, byte(b.mode))
	buf = binary.BigEndian.AppendUint64(buf, uint64(b.n))
	buf = binary.BigEndian.AppendUint64(buf, uint64(b.batch))
	buf = binary.BigEndian.AppendUint64(buf, uint64(b.pos))
	buf = binary.BigEndian.AppendUint64(buf, b.steps)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(pcg)))
	buf = append(buf, pcg...)
	buf = binary.AppendUvarint(buf, uint64(len(b.perm)))
	for _, v := range b.perm {
		buf = binary.AppendUvarint(buf, uint64(v))
	}
	return buf, nil
}

// UnmarshalBinary restores a state written by MarshalBinary into b,
// replacing whatever b held. On error b is unchanged.
func (b *Batcher) UnmarshalBinary(data []byte) error {
	nb, err := decodeBatcher(data)
	if err != nil {
		return fmt.Errorf("dataset: Batcher.UnmarshalBinary: %w", err)
	}
	*b = *nb
	return nil
}

// decodeBatcher parses and validates a marshalled Batcher.
func decodeBatcher(data []byte) (*Batcher, error) {
	d := decoder{buf: data}
	if magic := d.bytes(len(batcherMagic)); d.err == nil && string(magic) != batcherMagic {
		return nil, fmt.Errorf("magic = %q, want %q", magic, batcherMagic)
	}
	mode := Sampling(d.uint8())
	n, batch, pos, steps := d.uint64(), d.uint64(), d.uint64(), d.uint64()
	pcgBytes := d.bytes(int(d.uint16()))
	if d.err != nil {
		return nil, d.err
	}
	if n > math.MaxInt32 || batch > n {
		return nil, fmt.Errorf("n = %d, batch = %d, want 1 ≤ batch ≤ n ≤ %d", n, batch, math.MaxInt32)
	}
	if err := checkBatcher(int(n), int(batch), mode); err != nil {
		return nil, err
	}
	if pos > n {
		return nil, fmt.Errorf("pos = %d, want ≤ n = %d", pos, n)
	}
	b := &Batcher{
		pcg:   new(rand.PCG),
		mode:  mode,
		n:     int(n),
		batch: int(batch),
		pos:   int(pos),
		steps: steps,
		out:   make([]int, batch),
	}
	if err := b.pcg.UnmarshalBinary(pcgBytes); err != nil {
		return nil, err
	}
	want := uint64(0)
	if mode == Reshuffle {
		want = n
	}
	if count := d.uvarint(); d.err == nil && count != want {
		return nil, fmt.Errorf("permutation length = %d, want %d", count, want)
	}
	if want > uint64(len(d.buf)) && d.err == nil {
		return nil, fmt.Errorf("truncated: %d bytes left for %d permutation entries", len(d.buf), want)
	}
	if want > 0 && d.err == nil {
		b.perm = make([]int, n)
		seen := make([]bool, n)
		for i := range b.perm {
			v := d.uvarint()
			if d.err != nil {
				break
			}
			if v >= n || seen[v] {
				return nil, fmt.Errorf("perm[%d] = %d: not a permutation of [0, %d)", i, v, n)
			}
			seen[v] = true
			b.perm[i] = int(v)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.buf) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(d.buf))
	}
	return b, nil
}

// decoder reads a byte slice front to back, remembering the first error.
type decoder struct {
	buf []byte
	err error
}

// bytes consumes k bytes (nil after an error).
func (d *decoder) bytes(k int) []byte {
	if d.err != nil {
		return nil
	}
	if k > len(d.buf) {
		d.err = fmt.Errorf("truncated: %d bytes left, want %d", len(d.buf), k)
		return nil
	}
	v := d.buf[:k]
	d.buf = d.buf[k:]
	return v
}

func (d *decoder) uint8() uint8 {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if v := d.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if v := d.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.buf)
	if k <= 0 {
		d.err = errors.New("truncated or overlong varint")
		return 0
	}
	d.buf = d.buf[k:]
	return v
}

// BatchSize resolves a minibatch size given by count or by fraction of the
// n training points. Exactly one of batch and fraction must be set (nonzero):
//
//	batch > 0:     B = batch, which must be ≤ n;
//	fraction > 0:  B = max(1, round(fraction·n)), fraction ∈ (0, 1],
//
// where round goes to the nearest integer, halves away from zero
// (math.Round). Rounding rather than truncating keeps products that land a
// hair below an integer exact: 0.29·100 is 28.999999999999996 in floating
// point and gives 29; fraction 0.05 of 1000 gives 50, and 0.5 of 5 gives 3.
// Errors name the offending argument and its value.
func BatchSize(n, batch int, fraction float64) (int, error) {
	switch {
	case n < 1:
		return 0, fmt.Errorf("dataset: BatchSize: n = %d, want ≥ 1", n)
	case batch != 0 && fraction != 0:
		return 0, fmt.Errorf("dataset: BatchSize: batch = %d and fraction = %g are both set, want one", batch, fraction)
	case batch < 0:
		return 0, fmt.Errorf("dataset: BatchSize: batch = %d, want ≥ 1", batch)
	case batch > n:
		return 0, fmt.Errorf("dataset: BatchSize: batch = %d exceeds n = %d", batch, n)
	case batch > 0:
		return batch, nil
	case fraction == 0:
		return 0, errors.New("dataset: BatchSize: neither batch nor fraction is set")
	case !(fraction > 0 && fraction <= 1):
		return 0, fmt.Errorf("dataset: BatchSize: fraction = %g, want in (0, 1]", fraction)
	}
	return max(1, int(math.Round(fraction*float64(n)))), nil
}
