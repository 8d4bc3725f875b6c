package rundir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// legacyParamsMagic starts params.bin and init_params.bin.
const legacyParamsMagic = "HBPARAM1"

// DecodeLegacyParams decodes the parameter files of run directories
// written before the safetensors files (params.bin, init_params.bin): the
// 8 bytes "HBPARAM1", a little-endian uint64 count n, then n little-endian
// float64 values in the flat layout of package nn.
func DecodeLegacyParams(b []byte) ([]float64, error) {
	if len(b) < 16 || string(b[:8]) != legacyParamsMagic {
		return nil, errors.New("not a parameter file (bad magic)")
	}
	n := binary.LittleEndian.Uint64(b[8:16])
	if uint64(len(b)-16) != 8*n || n > uint64(len(b)) {
		return nil, fmt.Errorf("parameter file holds %d bytes for %d values", len(b)-16, n)
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[16+8*i:]))
	}
	return out, nil
}

// EncodeLegacyParams encodes params.bin (for tests of old run
// directories; nothing writes it any more).
func EncodeLegacyParams(theta []float64) []byte {
	b := make([]byte, 0, 16+8*len(theta))
	b = append(b, legacyParamsMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(theta)))
	for _, v := range theta {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}
