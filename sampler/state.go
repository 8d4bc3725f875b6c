package sampler

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

const stateMagic = "HBCHAIN1"

// ErrStateMismatch is returned by UnmarshalBinary when a checkpoint was
// written by a chain with other settings or another parameter count.
var ErrStateMismatch = errors.New("sampler: checkpoint does not match the chain's settings")

// MarshalBinary encodes the complete dynamic state of the chain: step
// count, latest loss and gradient, θ, p, Adam's second moments, every ξ,
// the kinetic-temperature accumulators and the random source. A chain built
// with the same Settings and restored with UnmarshalBinary continues bit for
// bit as if it had never stopped.
func (c *Chain) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(stateMagic)
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w(c.fingerprint)
	w(uint64(len(c.theta)))
	w(c.step)
	w(c.primed)
	w(math.Float64bits(c.loss))
	w(c.theta)
	w(c.p)
	w(c.g)
	w(c.v != nil)
	if c.v != nil {
		w(c.v)
	}
	for i := range c.groups {
		gs := &c.groups[i]
		w(gs.tau)
		w(gs.tkin)
		w(gs.tkinSum)
		w(gs.tkinN)
		w(gs.tkinSeen)
		w(uint64(len(gs.xi)))
		w(gs.xi)
	}
	rs, err := c.src.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w(uint64(len(rs)))
	b.Write(rs)
	var divStep int64 = -1
	var what string
	var de *DivergenceError
	if errors.As(c.err, &de) {
		divStep, what = de.Step, de.What
	}
	w(divStep)
	w(uint64(len(what)))
	b.WriteString(what)
	return b.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary into a chain
// created by New with the same settings and parameter count.
func (c *Chain) UnmarshalBinary(data []byte) error {
	if !bytes.HasPrefix(data, []byte(stateMagic)) {
		return errors.New("sampler: not a chain checkpoint (bad magic)")
	}
	r := bytes.NewReader(data[len(stateMagic):])
	var err error
	rd := func(v any) {
		if err == nil {
			err = binary.Read(r, binary.LittleEndian, v)
		}
	}
	var fp, n uint64
	rd(&fp)
	rd(&n)
	if err != nil {
		return fmt.Errorf("sampler: truncated checkpoint: %w", err)
	}
	if fp != c.fingerprint || n != uint64(len(c.theta)) {
		return ErrStateMismatch
	}
	var (
		step    int64
		primed  bool
		lossB   uint64
		hasV    bool
		theta   = make([]float64, n)
		p       = make([]float64, n)
		g       = make([]float64, n)
		v       []float64
		groups  = make([]groupState, len(c.groups))
		rsLen   uint64
		divStep int64
		wLen    uint64
	)
	rd(&step)
	rd(&primed)
	rd(&lossB)
	rd(theta)
	rd(p)
	rd(g)
	rd(&hasV)
	if hasV != (c.v != nil) {
		return ErrStateMismatch
	}
	if hasV {
		v = make([]float64, n)
		rd(v)
	}
	for i := range groups {
		gs := &groups[i]
		gs.n = c.groups[i].n
		var k uint64
		rd(&gs.tau)
		rd(&gs.tkin)
		rd(&gs.tkinSum)
		rd(&gs.tkinN)
		rd(&gs.tkinSeen)
		rd(&k)
		if err == nil && k != uint64(len(c.groups[i].xi)) {
			return ErrStateMismatch
		}
		if k > 0 {
			gs.xi = make([]float64, k)
			rd(gs.xi)
		}
	}
	rd(&rsLen)
	if err != nil {
		return fmt.Errorf("sampler: truncated checkpoint: %w", err)
	}
	if rsLen > uint64(r.Len()) {
		return errors.New("sampler: truncated checkpoint: random state")
	}
	rs := make([]byte, rsLen)
	_, _ = r.Read(rs)
	rd(&divStep)
	rd(&wLen)
	if err != nil {
		return fmt.Errorf("sampler: truncated checkpoint: %w", err)
	}
	if wLen > uint64(r.Len()) {
		return errors.New("sampler: truncated checkpoint: status")
	}
	what := make([]byte, wLen)
	_, _ = r.Read(what)
	if r.Len() != 0 {
		return fmt.Errorf("sampler: checkpoint has %d trailing bytes", r.Len())
	}
	if err := c.src.UnmarshalBinary(rs); err != nil {
		return fmt.Errorf("sampler: checkpoint random state: %w", err)
	}
	c.step, c.primed, c.loss = step, primed, math.Float64frombits(lossB)
	copy(c.theta, theta)
	copy(c.p, p)
	copy(c.g, g)
	if hasV {
		copy(c.v, v)
	}
	for i := range groups {
		xi := c.groups[i].xi
		copy(xi, groups[i].xi)
		groups[i].xi = xi
		c.groups[i] = groups[i]
	}
	c.err = nil
	if divStep >= 0 {
		c.err = &DivergenceError{Step: divStep, What: string(what)}
	}
	return nil
}
