// Package nn is a small multilayer perceptron for classification whose
// parameters live in one flat []float64, built for Langevin-type samplers
// that update all parameters as a single vector (Leimkuhler, Matthews,
// Vlaar, "Partitioned integrators for thermodynamic parameterization of
// neural networks", 2019).
//
// The network is Linear(Inputs→Hidden[0]) → act → … → Linear(Hidden[L-1]→K),
// where act is ReLU or Tanh and K = 1 for two classes, K = Classes
// otherwise. The paper's network is
//
//	New(Config{Inputs: 2, Hidden: []int{100}, Classes: 2, Activation: ReLU})
//
// with 2·100 + 100 + 100 + 1 = 401 parameters.
//
// # Flat layout
//
// The parameter vector θ holds the tensors in PyTorch model.parameters()
// order: layer0.weight, layer0.bias, layer1.weight, layer1.bias, …, and the
// output layer is layer L = len(Hidden). A weight of a layer with n_in
// inputs and n_out outputs is n_out×n_in, row-major (PyTorch's nn.Linear
// layout): element (o, k) is θ[Off + o·n_in + k]. Tensors reports each
// tensor's name, offset, length and shape, so that samplers can treat
// layers or weight/bias groups separately (e.g. a different thermostat for
// the output layer). A gradient has the same layout.
//
// # Loss conventions
//
// For Classes == 2 the single output z is a logit; p = σ(z) = 1/(1+e^{-z})
// is the probability of class 1 and the per-sample loss is binary
// cross-entropy, like PyTorch's Linear(H,1) + Sigmoid + BCELoss:
//
//	ℓ(z, t) = -t log σ(z) - (1-t) log(1-σ(z)) = max(z,0) - t·z + log1p(e^{-|z|}),
//
// evaluated in that stable form from z (never from p), with ∂ℓ/∂z = σ(z) - t.
// For Classes > 2 the outputs z_k are logits of a softmax and
//
//	ℓ(z, t) = log Σ_k e^{z_k - M} + M - z_t,  M = max_k z_k,
//
// with ∂ℓ/∂z_k = softmax(z)_k - [k = t].
//
// LossGrad returns the mean of ℓ over the minibatch, as the authors use
// (BCELoss with its default mean reduction; no N/n rescaling, no prior), and
// the gradient of that mean. Evaluate returns the mean over all rows and the
// accuracy. Labels are integers in [0, Classes).
//
// A NaN or infinite parameter yields a NaN loss rather than a panic, so a
// sampler can detect divergence; the ReLU's derivative at exactly 0 is 0,
// as in PyTorch.
//
// # Performance
//
// LossGrad, Evaluate and PredictTo allocate nothing: all scratch memory is
// in a Workspace. The paper's shape (2 inputs, one ReLU hidden layer, two
// classes) runs a specialised branch-free kernel (shlp.go); every other
// shape runs a general per-sample path.
//
// # Aliasing and concurrency
//
// The caller owns θ, the gradient and the data; the package keeps no
// reference to them after a call returns. Only grad (LossGrad) and dst
// (PredictTo, Init's theta) are written; they must not overlap θ, X or each
// other. An MLP is read-only after New and may be shared by any number of
// goroutines. A Workspace holds the scratch state of one call at a time and
// is not safe for concurrent use: give each goroutine (each replica) its
// own. Init draws from a caller-supplied rand.Source, which is likewise not
// safe for concurrent use.
package nn
