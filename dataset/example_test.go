package dataset_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/heatbath/heatbath/dataset"
)

// Example draws the Figure 2 trig data, splits it into training and test
// sets, and feeds the training set to a sampler in 5% minibatches.
func Example() {
	data := dataset.Trig(dataset.TrigFig2, 2000, rand.NewPCG(1, 0))
	parts, err := dataset.SplitSet(data, []int{1000, 1000}, rand.NewPCG(1, 1))
	if err != nil {
		panic(err)
	}
	train, test := parts[0], parts[1]

	batch, err := dataset.BatchSize(train.Len(), 0, 0.05)
	if err != nil {
		panic(err)
	}
	b, err := dataset.NewBatcher(train.Len(), batch, dataset.Reshuffle, 42, 0)
	if err != nil {
		panic(err)
	}
	for b.Epoch() < 3 {
		idx := b.Next()
		_ = train.Subset(idx) // or index train.X and train.Y directly
	}
	fmt.Println(train.Len(), test.Len(), batch, b.BatchesPerEpoch())
	// Output: 1000 1000 50 20
}
