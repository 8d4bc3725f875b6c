package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/heatbath/heatbath/nn"
)

// Example builds the paper's network, initialises it as PyTorch would, and
// takes plain gradient-descent steps on a four-point minibatch.
func Example() {
	m, err := nn.New(nn.Config{Inputs: 2, Hidden: []int{100}, Classes: 2, Activation: nn.ReLU})
	if err != nil {
		panic(err)
	}
	fmt.Println("parameters:", m.NumParams())
	for _, t := range m.Tensors() {
		fmt.Printf("%s [%d:%d] %d×%d\n", t.Name, t.Off, t.Off+t.Len, t.Rows, t.Cols)
	}

	theta := make([]float64, m.NumParams())
	m.Init(theta, rand.NewPCG(1, 2))

	// Rows are (x0, x1); labels 0 or 1.
	X := []float64{
		0, 1,
		1, 0,
		2, 1,
		3, -1,
	}
	y := []int{1, 0, 1, 0}
	idx := []int{0, 1, 2, 3}

	ws := m.NewWorkspace(len(idx))
	grad := make([]float64, m.NumParams())
	first := m.LossGrad(ws, theta, grad, X, y, idx)
	for range 200 {
		m.LossGrad(ws, theta, grad, X, y, idx)
		for k := range theta {
			theta[k] -= 0.5 * grad[k]
		}
	}
	loss, acc := m.Evaluate(ws, theta, X, y)
	fmt.Printf("loss %.4f -> %.4f, accuracy %.2f\n", first, loss, acc)

	p := make([]float64, 2*len(y))
	m.PredictTo(ws, p, theta, X)
	fmt.Printf("p(class 1 | row 0) > 0.5: %v\n", p[1] > 0.5)
	// Output:
	// parameters: 401
	// layer0.weight [0:200] 100×2
	// layer0.bias [200:300] 100×1
	// layer1.weight [300:400] 1×100
	// layer1.bias [400:401] 1×1
	// loss 0.8403 -> 0.0023, accuracy 1.00
	// p(class 1 | row 0) > 0.5: true
}
