package protocol

// This file holds the plain-data description of one chain (a replica). It is
// what a task carries on the wire and what `heatbath train` runs in-process.
// It holds no behaviour: package train maps it onto nn, dataset and sampler.
// Zero values mean "use the documented default"; package train fills the
// defaults and validates the result.

// ReplicaConfig fully determines one chain: with the same ReplicaConfig the
// chain produces the same bits on any machine.
type ReplicaConfig struct {
	Data   DataConfig   `json:"data"`
	Model  ModelConfig  `json:"model"`
	Method MethodConfig `json:"method"`

	// Steps is the number of integrator steps (one gradient each).
	Steps int64 `json:"steps"`
	// EvalEvery is the number of steps between two evaluations of the
	// train/validation/test metrics. Zero means Steps/100 (at least 1).
	EvalEvery int64 `json:"eval_every,omitempty"`
	// Batch is the minibatch size. Zero means BatchFraction is used.
	Batch int `json:"batch,omitempty"`
	// BatchFraction is the minibatch size as a fraction of the training set
	// ("5% subsampling" is 0.05), used when Batch is zero.
	BatchFraction float64 `json:"batch_fraction,omitempty"`
	// Sampling is "reshuffle" (a fresh permutation every epoch, the authors'
	// scheme; the default) or "replacement" (indices drawn independently).
	Sampling string `json:"sampling,omitempty"`

	// Seed seeds everything that differs between replicas of one setting:
	// initialization, minibatch order and integrator noise.
	Seed uint64 `json:"seed"`
	// DataSeed seeds the data generator and the train/validation/test split,
	// so that replicas which differ only in Seed see the same data.
	DataSeed uint64 `json:"data_seed"`

	// Exchange, when set, makes the replica an exchange set of chains over
	// a temperature ladder (replica exchange); nil: one chain.
	Exchange *ExchangeConfig `json:"exchange,omitempty"`

	// Numerics is the numerics version (nn.NumericsVersion: the order and
	// rounding of the kernels' arithmetic) the chain is computed with.
	// Zero, as specs and tasks leave it: the version of the binary that
	// builds the replica, which package train records in the result and in
	// every checkpoint. A nonzero value other than the binary's is refused,
	// since the chain would not reproduce its bits.
	Numerics int `json:"numerics,omitempty"`
}

// ReplicaInfo identifies a replica within its sweep, with the config that
// determines it; it is replica.json of a replica directory.
type ReplicaInfo struct {
	// ID is "r<index>-<8 hex of the config hash>": stable under resubmission.
	ID    string `json:"id"`
	Index int    `json:"index"`
	// Group joins every setting but the seed ("method=adlala,tau=0.0001").
	Group string `json:"group"`
	// Settings are the grid coordinates, always with "method" and "seed".
	Settings map[string]string `json:"settings"`
	Seed     uint64            `json:"seed"`
	Config   ReplicaConfig     `json:"config"`
}

// DataConfig names a data set and its generator parameters.
type DataConfig struct {
	// Kind is one of "trig", "spiral", "rings", "mnist", "csv".
	Kind string `json:"kind"`
	// Preset selects published settings: "fig1" or "fig2" for trig,
	// "authors" or "abstract" for spiral.
	Preset string `json:"preset,omitempty"`

	// Train, Validation and Test are the split sizes. For generated sets
	// they are the numbers of points drawn; for loaded sets they cap them.
	Train      int `json:"train,omitempty"`
	Validation int `json:"validation,omitempty"`
	Test       int `json:"test,omitempty"`

	// Noise is the standard deviation of the Gaussian noise added to the
	// generated points (0.02 in the paper).
	Noise float64 `json:"noise,omitempty"`

	// Trig: x = XScale·t, y = cos(Freq·π·t) (class 0) or sin(Freq·π·t)
	// (class 1), t ~ U(0,1).
	XScale float64 `json:"x_scale,omitempty"`
	Freq   float64 `json:"freq,omitempty"`

	// Spiral: Turns is b. Form is "power" (the authors' r = a·t^p,
	// φ = 2πb·t^p) or "linear" (the abstract's r = 2t, φ = 2πbt).
	Turns  float64 `json:"turns,omitempty"`
	Form   string  `json:"form,omitempty"`
	Radius float64 `json:"radius,omitempty"` // a
	Power  float64 `json:"power,omitempty"`  // p

	// Rings (Huang et al.): two concentric rings of radii Inner and Outer;
	// Margin is the gap left between the classes where the rings are pinched.
	Inner  float64 `json:"inner,omitempty"`
	Outer  float64 `json:"outer,omitempty"`
	Margin float64 `json:"margin,omitempty"`

	// MNIST: Dir holds the IDX files (gzipped or not); Digits restricts the
	// classes (two digits give a binary problem).
	Dir    string `json:"dir,omitempty"`
	Digits []int  `json:"digits,omitempty"`

	// CSV: Path to a file whose last column is the integer class label;
	// TestPath optionally gives a separate test file.
	Path     string `json:"path,omitempty"`
	TestPath string `json:"test_path,omitempty"`
	// SHA256 and TestSHA256 are the hex SHA-256 of the contents of Path
	// and TestPath, set when the spec is loaded: the sweep stores each file
	// in the object store under DataObject(hash) at submission, workers
	// fetch it from there, and the hash, not the path, enters the sweep id
	// and the replica ids. Empty: the file is read from Path as it is.
	SHA256     string `json:"sha256,omitempty"`
	TestSHA256 string `json:"test_sha256,omitempty"`
}

// ModelConfig describes a multi-layer perceptron.
type ModelConfig struct {
	// Hidden lists the hidden layer widths, e.g. [100] or [256, 128].
	Hidden []int `json:"hidden"`
	// Activation is "relu" (default) or "tanh".
	Activation string `json:"activation,omitempty"`
}

// MethodConfig is an integrator, or a partition of the parameters into groups
// each with its own integrator. Presets ("lol", "adlala", "lala") and single
// methods ("sgd", "adam", "langevin", ...) are expanded by package train into
// Groups; a config with Name "partitioned" lists its Groups explicitly.
type MethodConfig struct {
	// Name is one of sgd, momentum, adam, sgld, overdamped, langevin,
	// adaptive, lol, adlala, lala, partitioned.
	Name string `json:"name"`
	// H is the step size shared by every group (the learning rate for sgd,
	// momentum, adam and sgld).
	H float64 `json:"h"`
	// Params holds hyperparameters for every group of the method: the
	// hyperparameters of a single method (langevin, adam, ...), and
	// defaults for the groups of presets and partitions. A group's own
	// value wins over Params, and Params over the integrator's default.
	Params GroupConfig `json:"params,omitempty"`
	// Hidden and Output hold the per-group hyperparameters of the two-part
	// presets (lol, adlala, lala): Hidden applies to every hidden layer,
	// Output to the output layer.
	Hidden GroupConfig `json:"hidden,omitempty"`
	Output GroupConfig `json:"output,omitempty"`
	// Groups is the explicit partition for Name "partitioned".
	Groups []GroupConfig `json:"groups,omitempty"`
	// Schedule is the temperature schedule applied to every group that has
	// no schedule of its own.
	Schedule ScheduleConfig `json:"schedule,omitempty"`
	// StepSchedule multiplies the step size over time: h(n) = H·f(n)
	// (the same kinds as Schedule). Nil keeps h constant.
	StepSchedule *ScheduleConfig `json:"step_schedule,omitempty"`
	// Cycle is a cyclical schedule of the step size and/or τ; nil: none.
	Cycle *CycleConfig `json:"cycle,omitempty"`
}

// GroupConfig assigns an integrator and its hyperparameters to a set of
// parameter tensors.
type GroupConfig struct {
	// Tensors selects parameters: "all", "hidden", "output", "layerK"
	// (weights and bias of layer K, 0-based), "layerK.weight", "layerK.bias".
	Tensors []string `json:"tensors,omitempty"`
	// Integrator is one of sgd, momentum, adam, sgld, overdamped, langevin,
	// adaptive.
	Integrator string `json:"integrator,omitempty"`

	// Hyperparameters are pointers so that an explicit zero (τ = 0, a
	// noiseless or zero-temperature group) differs from "unset", which
	// means the documented default of the integrator.
	Gamma   *float64 `json:"gamma,omitempty"`   // friction γ (langevin)
	Tau     *float64 `json:"tau,omitempty"`     // temperature τ
	SigmaA  *float64 `json:"sigma_a,omitempty"` // driving noise σ_A (adaptive)
	Epsilon *float64 `json:"epsilon,omitempty"` // thermostat coupling ε (adaptive)
	Xi0     *float64 `json:"xi0,omitempty"`     // initial ξ (adaptive; default 0.1)

	Momentum *float64 `json:"momentum,omitempty"` // μ (momentum)
	Beta1    *float64 `json:"beta1,omitempty"`    // Adam β₁ (default 0.9)
	Beta2    *float64 `json:"beta2,omitempty"`    // Adam β₂ (default 0.999)
	Eps      *float64 `json:"eps,omitempty"`      // Adam ε (default 1e-8)

	Schedule ScheduleConfig `json:"schedule,omitempty"`
}

// ScheduleConfig multiplies a group's temperature over time:
// τ(n) = τ·f(n). Kind is "constant" (f = 1, the default), "linear",
// "geometric", "cosine" or "piecewise". The first three go from From
// (default 1) to To between steps Start and End (End 0 means the last step);
// piecewise holds Values[i] from step Steps[i] on.
type ScheduleConfig struct {
	Kind   string    `json:"kind,omitempty"`
	From   float64   `json:"from,omitempty"`
	To     float64   `json:"to,omitempty"`
	Start  int64     `json:"start,omitempty"`
	End    int64     `json:"end,omitempty"`
	Steps  []int64   `json:"steps,omitempty"`
	Values []float64 `json:"values,omitempty"`
}

// Float returns a pointer to v, for the optional hyperparameters of
// GroupConfig.
func Float(v float64) *float64 { return &v }
