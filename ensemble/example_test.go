package ensemble_test

import (
	"fmt"

	"github.com/heatbath/heatbath/ensemble"
)

// ExampleDescribe summarizes the final test accuracies of five seeds.
func ExampleDescribe() {
	s := ensemble.Describe([]float64{0.91, 0.93, 0.90, 0.95, 0.92})
	fmt.Printf("n=%d mean=%.3f sd=%.4f 95%% CI [%.3f, %.3f]\n", s.N, s.Mean, s.SD, s.CILo, s.CIHi)
	fmt.Printf("median=%.2f IQR=%.2f range [%.2f, %.2f]\n", s.Median, s.IQR, s.Min, s.Max)
	// Output:
	// n=5 mean=0.922 sd=0.0192 95% CI [0.898, 0.946]
	// median=0.92 IQR=0.02 range [0.90, 0.95]
}

// ExampleBootstrapDiff compares two groups' final test accuracies.
func ExampleBootstrapDiff() {
	adlala := []float64{0.921, 0.918, 0.925, 0.919, 0.922, 0.920}
	sgd := []float64{0.88, 0.91, 0.85, 0.90, 0.87, 0.93}
	d, lo, hi := ensemble.BootstrapDiff(adlala, sgd, 2000, 1)
	fmt.Printf("difference %.3f, 95%% interval excludes 0: %v\n", d, lo > 0 || hi < 0)
	// Output:
	// difference 0.031, 95% interval excludes 0: true
}
