package sampler

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/heatbath/heatbath/internal/detmath"
)

// pcg is math/rand/v2's PCG (a 128-bit LCG with the DXSM output function)
// re-stated so that its methods are concrete and inline into the noise
// loop: through rand.Rand every draw was an interface call. It computes the
// same stream and has the same binary encoding ("pcg:", then the high and
// the low state word, big-endian), so the chain's random numbers and
// checkpoints are unchanged (TestPCGMatchesMathRand).
type pcg struct{ hi, lo uint64 }

// Uint64 advances the state and returns the next value, as rand.PCG.
func (p *pcg) Uint64() uint64 {
	const (
		mulHi    = 2549297995355413924
		mulLo    = 4865540595714422341
		incHi    = 6364136223846793005
		incLo    = 1442695040888963407
		cheapMul = 0xda942042e4dd58b5
	)
	hi, lo := bits.Mul64(p.lo, mulLo)
	hi += p.hi*mulLo + p.lo*mulHi
	lo, c := bits.Add64(lo, incLo, 0)
	hi, _ = bits.Add64(hi, incHi, c)
	p.lo, p.hi = lo, hi
	hi ^= hi >> 32
	hi *= cheapMul
	hi ^= hi >> 48
	hi *= lo | 1
	return hi
}

// MarshalBinary encodes the state as rand.PCG does.
func (p *pcg) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 20)
	b = append(b, "pcg:"...)
	b = binary.BigEndian.AppendUint64(b, p.hi)
	b = binary.BigEndian.AppendUint64(b, p.lo)
	return b, nil
}

// UnmarshalBinary decodes a state encoded by MarshalBinary or rand.PCG.
func (p *pcg) UnmarshalBinary(data []byte) error {
	if len(data) != 20 || string(data[:4]) != "pcg:" {
		return fmt.Errorf("invalid PCG encoding of %d bytes", len(data))
	}
	p.hi = binary.BigEndian.Uint64(data[4:])
	p.lo = binary.BigEndian.Uint64(data[12:])
	return nil
}

// noiseChunk is the number of Gaussian variates drawn ahead into the
// chain's buffer: small enough to stay in L1 next to the parameters.
const noiseChunk = 512

// normals fills buf with the next len(buf) variates of detmath.Normal on
// the chain's source, in order: the same numbers as len(buf) calls of
// detmath.Normal(c.rng), with the common path inlined and the PCG state
// in registers (stored back before the slow path, which draws through
// c.rng).
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

// normalSlow finishes detmath.Normal after NormalFast rejected the draw u:
// the round's slow test, then, if it rejects too, Normal's next rounds
// (c.rng draws from c.src).
func (c *Chain) normalSlow(u uint64) float64 {
	if x, ok := detmath.NormalSlow(u, c.rng); ok {
		return x
	}
	return detmath.Normal(c.rng)
}
