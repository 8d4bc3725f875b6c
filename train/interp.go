package train

import (
	"math/rand/v2"

	"github.com/heatbath/heatbath/dataset"
)

// InterpPoints is the size of the subsamples of the training and the test
// split on which Interpolate computes the loss along a line (interp.csv and
// the report's between-methods curves): a split of at most InterpPoints
// points is used whole, a larger one through a subsample of InterpPoints
// points drawn without replacement from a PCG seeded with (DataSeed,
// streamInterp). So the end-of-run work does not grow with the data, and
// every replica of a sweep, and the report, use the same points.
const InterpPoints = 1000

// streamInterp is the PCG stream of the interpolation subsamples
// (DataSeed): "intp".
const streamInterp = 0x696e7470

// interpSets returns the training and test points of Interpolate: the
// training subsample first, then the test subsample, from one source.
func (r *Replica) interpSets() (tr, te *dataset.Set) {
	src := rand.NewPCG(r.Config.DataSeed, streamInterp)
	tr = dataset.Sample(r.Train, InterpPoints, src)
	te = dataset.Sample(r.Test, InterpPoints, src)
	return tr, te
}
