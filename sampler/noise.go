package sampler

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// xoshiroTag starts the binary encoding of a xoshiro state.
const xoshiroTag = "xo256pp:"

// MarshalBinary encodes the state as "xo256pp:" followed by s0, s1, s2 and
// s3, each 8 bytes big-endian (40 bytes).
func (x *xoshiro) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(xoshiroTag)+32)
	b = append(b, xoshiroTag...)
	for _, w := range [4]uint64{x.s0, x.s1, x.s2, x.s3} {
		b = binary.BigEndian.AppendUint64(b, w)
	}
	return b, nil
}

// errZeroState refuses the one state xoshiro256++ cannot leave.
var errZeroState = errors.New("xoshiro256++ state is all zero")

// UnmarshalBinary decodes a state encoded by MarshalBinary. It refuses any
// other encoding (math/rand/v2's "pcg:" of chains before numerics version
// 3 among them) and the all-zero state; x is unchanged on error.
func (x *xoshiro) UnmarshalBinary(data []byte) error {
	if len(data) != len(xoshiroTag)+32 || string(data[:len(xoshiroTag)]) != xoshiroTag {
		n := min(len(data), len(xoshiroTag))
		return fmt.Errorf("random state of %d bytes starting %q is not a %q xoshiro256++ encoding of %d bytes", len(data), data[:n], xoshiroTag, len(xoshiroTag)+32)
	}
	d := data[len(xoshiroTag):]
	y := xoshiro{binary.BigEndian.Uint64(d), binary.BigEndian.Uint64(d[8:]), binary.BigEndian.Uint64(d[16:]), binary.BigEndian.Uint64(d[24:])}
	if y == (xoshiro{}) {
		return errZeroState
	}
	*x = y
	return nil
}

// noiseChunk is the number of Gaussian variates drawn ahead into the
// chain's buffer: small enough to stay in L1 next to the parameters.
const noiseChunk = 512

// normals fills buf with the next len(buf) variates of detmath.Normal on
// the chain's xoshiro256++ source, in order: the same numbers as len(buf)
// calls of detmath.Normal(rand.New(c.src)), with the common path inlined
// and the state in registers (stored back before the slow path, which
// draws from c.src too).
func (c *Chain) normals(buf []float64) {
	for k := 0; k < len(buf); {
		// A run of accepted draws, with no call inside the loop so that the
		// state stays in registers; it stops at the first rejection.
		st := *c.src
		var u uint64
		rejected := false
		for ; k < len(buf); k++ {
			u = st.Uint64()
			x, ok := detmath.NormalFast(u)
			if !ok {
				rejected = true
				break
			}
			buf[k] = x
		}
		*c.src = st
		if rejected {
			buf[k] = c.normalSlow(u)
			k++
		}
	}
}

// normalSlow finishes detmath.Normal after NormalFast rejected the draw u,
// drawing from the concrete c.src (no interface call): the round's tail or
// wedge test, then, while those reject, Normal's next rounds.
func (c *Chain) normalSlow(u uint64) float64 {
	src := c.src
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
