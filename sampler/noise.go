package sampler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/heatbath/heatbath/internal/detmath"
)

// xoshiro is xoshiro256++ (Blackman and Vigna, "Scrambled linear
// pseudorandom number generators", 2021; the public-domain reference
// xoshiro256plusplus.c): 256 bits of state, period 2²⁵⁶ − 1, a few shifts,
// rotations, XORs and two additions per number and no multiply. It is the
// chain's only source of Gaussian noise since numerics version 3 (before,
// math/rand/v2's PCG, whose 128-bit multiply chain bounded the noise).
type xoshiro struct{ s0, s1, s2, s3 uint64 }

// Uint64 advances the state and returns the next value.
func (x *xoshiro) Uint64() uint64 {
	s0, s1, s2, s3 := x.s0, x.s1, x.s2, x.s3
	r := bits.RotateLeft64(s0+s3, 23) + s0
	t := s1 << 17
	s2 ^= s0
	s3 ^= s1
	s1 ^= s2
	s0 ^= s3
	s2 ^= t
	s3 = bits.RotateLeft64(s3, 45)
	x.s0, x.s1, x.s2, x.s3 = s0, s1, s2, s3
	return r
}

// splitmix64 is one step of Steele, Lea and Flood's SplitMix64 generator
// on the state *x (Vigna's splitmix64.c, the seeding his xoshiro page
// recommends): it adds 0x9e3779b97f4a7c15 to *x and returns the finalizer
// of the new value, a bijection of uint64.
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// newXoshiro seeds the generator from the chain's two seeds: s0 and s1 are
// the first two outputs of SplitMix64 started at seed1, s2 and s3 the first
// two of SplitMix64 started at seed2. The finalizer is a bijection, so
// distinct seed pairs give distinct states, and s0 and s1 are never both
// zero, so the state is never the all-zero one the generator must avoid.
func newXoshiro(seed1, seed2 uint64) xoshiro {
	var x xoshiro
	x.s0 = splitmix64(&seed1)
	x.s1 = splitmix64(&seed1)
	x.s2 = splitmix64(&seed2)
	x.s3 = splitmix64(&seed2)
	return x
}

// jump advances x by 2¹²⁸ draws: the reference's jump(), which Vigna
// gives to cut one sequence into 2¹²⁸ non-overlapping streams for
// parallel use.
func (x *xoshiro) jump() {
	var y xoshiro
	for _, w := range [4]uint64{0x180ec6d33cfd0aba, 0xd5a61266f0c9392c, 0xa9582618e03fc9aa, 0x39abdc4529b1661c} {
		for b := range 64 {
			if w&(1<<b) != 0 {
				y.s0 ^= x.s0
				y.s1 ^= x.s1
				y.s2 ^= x.s2
				y.s3 ^= x.s3
			}
			x.Uint64()
		}
	}
	*x = y
}

// lanes holds eight xoshiro256++ states as a structure of arrays: word w
// of lane l is lanes[w][l], the layout of one ZMM register per word.
type lanes [4][8]uint64

func (ls *lanes) get(l int) xoshiro { return xoshiro{ls[0][l], ls[1][l], ls[2][l], ls[3][l]} }

func (ls *lanes) set(l int, x xoshiro) {
	ls[0][l], ls[1][l], ls[2][l], ls[3][l] = x.s0, x.s1, x.s2, x.s3
}

// noiseSource is the chain's source of Gaussian noise since numerics
// version 4: nine xoshiro256++ streams, 2¹²⁸ draws apart. Lanes 0–7 feed
// the ziggurat's first test, lane l for the slots l, l+8, l+16, … of every
// buffer (so eight lanes run at once in vector code, fillLanes); the ninth,
// slow, serves the rare draws that test rejects (normalSlow).
type noiseSource struct {
	lane lanes
	slow xoshiro
}

// newNoiseSource seeds lane 0 with newXoshiro(seed1, seed2), each next
// lane with the previous one jumped by 2¹²⁸, and slow with lane 7 jumped.
func newNoiseSource(seed1, seed2 uint64) *noiseSource {
	x := newXoshiro(seed1, seed2)
	ns := new(noiseSource)
	for l := range 8 {
		ns.lane.set(l, x)
		x.jump()
	}
	ns.slow = x
	return ns
}

// noiseTag starts the binary encoding of a noiseSource.
const noiseTag = "xo256x9:"

// MarshalBinary encodes the source as "xo256x9:" followed by lanes 0–7
// and slow, each as its s0, s1, s2 and s3, 8 bytes big-endian (296 bytes).
func (ns *noiseSource) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(noiseTag)+9*32)
	b = append(b, noiseTag...)
	for l := range 9 {
		x := ns.slow
		if l < 8 {
			x = ns.lane.get(l)
		}
		for _, w := range [4]uint64{x.s0, x.s1, x.s2, x.s3} {
			b = binary.BigEndian.AppendUint64(b, w)
		}
	}
	return b, nil
}

// errZeroState refuses the one state xoshiro256++ cannot leave.
var errZeroState = errors.New("xoshiro256++ state is all zero")

// UnmarshalBinary decodes a source encoded by MarshalBinary. It refuses
// any other encoding (the single "xo256pp:" stream of numerics version 3
// and math/rand/v2's "pcg:" before it among them) and an all-zero stream;
// ns is unchanged on error.
func (ns *noiseSource) UnmarshalBinary(data []byte) error {
	const size = len(noiseTag) + 9*32
	if len(data) != size || string(data[:len(noiseTag)]) != noiseTag {
		n := min(len(data), len(noiseTag))
		return fmt.Errorf("random state of %d bytes starting %q is not a %q encoding of %d bytes", len(data), data[:n], noiseTag, size)
	}
	var y noiseSource
	d := data[len(noiseTag):]
	for l := range 9 {
		x := xoshiro{binary.BigEndian.Uint64(d), binary.BigEndian.Uint64(d[8:]), binary.BigEndian.Uint64(d[16:]), binary.BigEndian.Uint64(d[24:])}
		d = d[32:]
		if x == (xoshiro{}) {
			return fmt.Errorf("stream %d: %w", l, errZeroState)
		}
		if l < 8 {
			y.lane.set(l, x)
		} else {
			y.slow = x
		}
	}
	*ns = y
	return nil
}

// noiseChunk is the number of Gaussian variates drawn ahead into the
// chain's buffer: small enough to stay in L1 next to the parameters. It is
// a multiple of 8, the number of lanes.
const noiseChunk = 512

// fillLanes is fillLanesGo or a vector kernel computing the same bits,
// chosen at start-up (kernels_amd64.go).
var fillLanes = fillLanesGo

// fillLanesGo runs the ziggurat's first test (detmath.NormalFast) on
// len(rej) blocks of eight slots: slot 8b+l of buf gets lane l's next draw
// u, which becomes the variate when the test accepts it; otherwise the
// slot keeps u's bits and bit l of rej[b] is set. len(buf) = 8·len(rej).
func fillLanesGo(st *lanes, buf []float64, rej []uint8) {
	clear(rej)
	buf = buf[:8*len(rej)]
	for l := range 8 {
		x := st.get(l)
		for b := range rej {
			u := x.Uint64()
			v, ok := detmath.NormalFast(u)
			if !ok {
				v = math.Float64frombits(u)
				rej[b] |= 1 << l
			}
			buf[8*b+l] = v
		}
		st.set(l, x)
	}
}

// normals fills buf with len(buf) standard normal variates: every lane
// advances by ⌈len(buf)/8⌉ draws (fillLanes; the slots past len(buf) are
// drawn into buf's capacity, which must reach the next multiple of 8, and
// dropped), and each slot below len(buf) that the first test rejected is
// finished in increasing order by normalSlow on the slow stream. Each
// variate is one complete ziggurat draw (detmath.Normal) on independent
// numbers, so the buffer holds independent standard normals.
func (c *Chain) normals(buf []float64) {
	n := len(buf)
	blocks := (n + 7) / 8
	rej := c.rej[:blocks]
	fillLanes(&c.src.lane, buf[:8*blocks], rej)
	// The rejection bits eight blocks (64 slots) at a time: bit k of word
	// w is slot 64w+k; rej's capacity is a multiple of 8 and the bytes past
	// blocks are masked off.
	for w := 0; w < blocks; w += 8 {
		m := binary.LittleEndian.Uint64(c.rej[w : w+8])
		if left := blocks - w; left < 8 {
			m &= 1<<(8*left) - 1
		}
		for m != 0 {
			i := 8*w + bits.TrailingZeros64(m)
			if i >= n {
				break
			}
			buf[i] = c.normalSlow(math.Float64bits(buf[i]))
			m &= m - 1
		}
	}
}

// normalSlow finishes detmath.Normal after NormalFast rejected the draw u,
// drawing from the slow stream (no interface call): the round's tail or
// wedge test, then, while those reject, Normal's next rounds.
func (c *Chain) normalSlow(u uint64) float64 {
	src := &c.src.slow
	for {
		if detmath.NormalInTail(u) {
			for {
				if x, ok := detmath.NormalTail(u, src.Uint64(), src.Uint64()); ok {
					return x
				}
			}
		}
		if x, ok := detmath.NormalWedge(u, src.Uint64()); ok {
			return x
		}
		u = src.Uint64()
		if x, ok := detmath.NormalFast(u); ok {
			return x
		}
	}
}
