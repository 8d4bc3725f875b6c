package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Config describes a multilayer perceptron.
type Config struct {
	// Inputs is the number of input features, at least 1.
	Inputs int
	// Hidden lists the widths of the hidden layers, input side first. It
	// must hold at least one width, each at least 1.
	Hidden []int
	// Classes is the number of classes, at least 2. Classes == 2 gives one
	// sigmoid output unit with binary cross-entropy; Classes > 2 gives
	// Classes output units with softmax cross-entropy.
	Classes int
	// Activation is the hidden-layer nonlinearity. The zero value is ReLU.
	Activation Activation
}

// Validate reports the first problem with c, naming the offending field, or
// nil if New would accept c.
func (c Config) Validate() error {
	if c.Inputs <= 0 {
		return fmt.Errorf("nn: inputs = %d, must be positive", c.Inputs)
	}
	if len(c.Hidden) == 0 {
		return errors.New("nn: hidden is empty, need at least one hidden layer")
	}
	for i, h := range c.Hidden {
		if h <= 0 {
			return fmt.Errorf("nn: hidden[%d] = %d, must be positive", i, h)
		}
	}
	if c.Classes < 2 {
		return fmt.Errorf("nn: classes = %d, must be at least 2", c.Classes)
	}
	if !c.Activation.valid() {
		return fmt.Errorf("nn: activation = %v, must be relu or tanh", c.Activation)
	}
	// Guard the parameter count against int overflow (on any word size);
	// real networks are many orders of magnitude below this.
	const maxParams = math.MaxInt / 2
	total, in := 0, c.Inputs
	for l := 0; l <= len(c.Hidden); l++ {
		out := outputs(c.Classes)
		if l < len(c.Hidden) {
			out = c.Hidden[l]
		}
		if room := (maxParams - total) / out; in >= room { // (in+1)·out > maxParams-total
			return fmt.Errorf("nn: network has more than %d parameters", maxParams)
		}
		total += (in + 1) * out
		in = out
	}
	return nil
}

// outputs returns the number of output units for the given class count.
func outputs(classes int) int {
	if classes == 2 {
		return 1
	}
	return classes
}

// Tensor is a named view into the flat parameter vector: the parameters of
// one weight matrix or bias vector occupy theta[Off : Off+Len].
type Tensor struct {
	// Name is "layer<Layer>.weight" or "layer<Layer>.bias".
	Name string
	// Layer is the index of the Linear layer, 0 for the first hidden
	// layer up to NumLayers()-1 for the output layer.
	Layer int
	// Bias reports whether this is a bias vector rather than a weight
	// matrix.
	Bias bool
	// Off and Len locate the tensor in the flat vector.
	Off, Len int
	// Rows and Cols give the shape. A weight is Rows = out × Cols = in,
	// stored row-major (element (o, k) at Off + o*Cols + k), as in
	// PyTorch's nn.Linear. A bias has Rows = out and Cols = 1.
	Rows, Cols int
}

// layer holds the geometry of one Linear layer: out = W·in + b with W of
// shape out×in at theta[w : w+out*in] and b at theta[b : b+out].
type layer struct {
	in, out int
	w, b    int
}

// MLP is a multilayer perceptron whose parameters live in a caller-owned
// flat []float64 (see the package documentation for the layout). An MLP
// holds only the architecture; it is read-only after New and safe for
// concurrent use.
type MLP struct {
	cfg     Config
	layers  []layer
	tensors []Tensor
	nparams int
	out     int  // output units: 1 if Classes == 2, else Classes
	widest  int  // max over all layer widths, including Inputs
	acts    int  // sum of all layer output widths (hidden and output)
	shlp    bool // fast kernel applies: see shlp.go
}

// New returns an MLP for cfg, or an error naming the first invalid field.
// New copies cfg.Hidden.
func New(cfg Config) (*MLP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Hidden = append([]int(nil), cfg.Hidden...)
	m := &MLP{cfg: cfg, out: outputs(cfg.Classes), widest: cfg.Inputs}
	off, in := 0, cfg.Inputs
	for l := 0; l <= len(cfg.Hidden); l++ {
		out := m.out
		if l < len(cfg.Hidden) {
			out = cfg.Hidden[l]
		}
		ly := layer{in: in, out: out, w: off, b: off + in*out}
		m.layers = append(m.layers, ly)
		prefix := "layer" + strconv.Itoa(l)
		m.tensors = append(m.tensors,
			Tensor{Name: prefix + ".weight", Layer: l, Off: ly.w, Len: in * out, Rows: out, Cols: in},
			Tensor{Name: prefix + ".bias", Layer: l, Bias: true, Off: ly.b, Len: out, Rows: out, Cols: 1},
		)
		off = ly.b + out
		m.widest = max(m.widest, out)
		m.acts += out
		in = out
	}
	m.nparams = off
	m.shlp = cfg.Inputs == 2 && len(cfg.Hidden) == 1 && cfg.Classes == 2 && cfg.Activation == ReLU
	return m, nil
}

// Config returns the configuration m was built from. The caller may modify
// the returned Hidden slice.
func (m *MLP) Config() Config {
	c := m.cfg
	c.Hidden = append([]int(nil), c.Hidden...)
	return c
}

// NumParams returns the length of the flat parameter vector.
func (m *MLP) NumParams() int { return m.nparams }

// NumLayers returns the number of Linear layers, len(Hidden)+1.
func (m *MLP) NumLayers() int { return len(m.layers) }

// Tensors returns the parameter tensors in PyTorch model.parameters()
// order: layer0.weight, layer0.bias, layer1.weight, …; the output layer is
// layer NumLayers()-1. The tensors tile [0, NumParams()) without gaps. The
// returned slice is a fresh copy.
func (m *MLP) Tensors() []Tensor { return append([]Tensor(nil), m.tensors...) }

// Init writes PyTorch's default nn.Linear initialisation into theta: every
// weight and bias of a layer with fan_in inputs is drawn from
//
//	U(-1/√fan_in, +1/√fan_in)
//
// (kaiming_uniform with a = √5 for weights, the same bound for biases).
// Values are drawn in flat-vector order, one src.Uint64 per parameter, so a
// given source state always gives the same bits. Init panics if
// len(theta) != NumParams().
func (m *MLP) Init(theta []float64, src rand.Source) {
	m.checkParams("theta", theta)
	rng := rand.New(src)
	for _, ly := range m.layers {
		bound := 1 / math.Sqrt(float64(ly.in))
		p := theta[ly.w : ly.b+ly.out]
		for i := range p {
			// u+u is 2u exactly; an add, so nothing can fuse with the -1.
			u := float64(rng.Float64()) // Float64 ends in a multiply: round it
			p[i] = bound * ((u + u) - 1)
		}
	}
}

func (m *MLP) checkParams(name string, v []float64) {
	if len(v) != m.nparams {
		panic(fmt.Sprintf("nn: len(%s) = %d, want NumParams() = %d", name, len(v), m.nparams))
	}
}
