package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ParamsFormat is the "format" entry of a parameter file's metadata; a
// reader refuses a file of another format.
const ParamsFormat = "heatbath-params/1"

// Input scalings: how a data set's raw features become the network's
// inputs (the "input_scaling" metadata entry).
const (
	// ScalingNone: the features are the inputs (generated and CSV data).
	ScalingNone = "none"
	// ScalingPixels: MNIST pixels v ∈ {0, …, 255} enter as v/255.
	ScalingPixels = "x/255"
)

// Which parameters a file holds (the "parameters" metadata entry).
const (
	ParamsFinal = "final" // params.safetensors
	ParamsBest  = "best"  // best_params.safetensors
	ParamsInit  = "init"  // init_params.safetensors
)

// Output nonlinearities (the "output" metadata entry): one sigmoid unit for
// two classes, a softmax over the classes otherwise.
const (
	OutputSigmoid = "sigmoid"
	OutputSoftmax = "softmax"
)

// ParamsMeta describes the network whose parameters a parameter file
// holds: everything needed to rebuild it as torch.nn.Sequential(Linear,
// Act, …, Linear) and feed it inputs. It is the file's "__metadata__".
type ParamsMeta struct {
	// Parameters is ParamsFinal, ParamsBest or ParamsInit.
	Parameters string
	// Step is the chain's step at which the parameters were taken (0 for
	// the initial ones).
	Step int64
	// Widths lists the layer widths [inputs, hidden..., outputs]; outputs
	// is 1 for two classes, Classes otherwise.
	Widths []int
	// Activation is the hidden layers' nonlinearity, "relu" or "tanh".
	Activation string
	// InputScaling is ScalingNone or ScalingPixels.
	InputScaling string
	// Classes is the number of classes, at least 2.
	Classes int
	// Replica is the replica id, "" when the writer does not know it
	// (`heatbath train` outside a sweep).
	Replica string
}

// Output returns OutputSigmoid for two classes, OutputSoftmax otherwise.
func (m *ParamsMeta) Output() string {
	if m.Classes == 2 {
		return OutputSigmoid
	}
	return OutputSoftmax
}

// validate checks the fields against each other.
func (m *ParamsMeta) validate() error {
	switch m.Parameters {
	case ParamsFinal, ParamsBest, ParamsInit:
	default:
		return fmt.Errorf("params: parameters %q, want %s, %s or %s", m.Parameters, ParamsFinal, ParamsBest, ParamsInit)
	}
	if m.Step < 0 {
		return fmt.Errorf("params: step %d is negative", m.Step)
	}
	if m.Activation != "relu" && m.Activation != "tanh" {
		return fmt.Errorf("params: activation %q, want relu or tanh", m.Activation)
	}
	if m.InputScaling != ScalingNone && m.InputScaling != ScalingPixels {
		return fmt.Errorf("params: input scaling %q, want %q or %q", m.InputScaling, ScalingNone, ScalingPixels)
	}
	if m.Classes < 2 {
		return fmt.Errorf("params: classes %d, want at least 2", m.Classes)
	}
	if _, err := paramCount(m.Widths); err != nil {
		return err
	}
	if len(m.Widths) < 3 {
		return fmt.Errorf("params: widths %v have no hidden layer", m.Widths)
	}
	if m.Widths[len(m.Widths)-1] != outputsFor(m.Classes) {
		return fmt.Errorf("params: widths %v end in %d outputs, %d classes need %d", m.Widths, m.Widths[len(m.Widths)-1], m.Classes, outputsFor(m.Classes))
	}
	return nil
}

// outputsFor returns the output units of a network for classes (package
// nn's rule).
func outputsFor(classes int) int {
	if classes == 2 {
		return 1
	}
	return classes
}

// Metadata keys of a parameter file.
const (
	metaFormat     = "format"
	metaParameters = "parameters"
	metaStep       = "step"
	metaWidths     = "widths"
	metaActivation = "activation"
	metaScaling    = "input_scaling"
	metaClasses    = "classes"
	metaOutput     = "output"
	metaReplica    = "replica"
)

// EncodeParams returns the safetensors file of the flat parameter vector
// theta (package nn's layout) of the network m describes: one tensor per
// weight and bias under its torch.nn.Sequential state_dict key (see
// ParamTensors), float64, with m as "__metadata__" (widths written
// "2,100,1", numbers in decimal).
func EncodeParams(m ParamsMeta, theta []float64) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	ts, err := ParamTensors(m.Widths, theta)
	if err != nil {
		return nil, err
	}
	ws := make([]string, len(m.Widths))
	for i, w := range m.Widths {
		ws[i] = strconv.Itoa(w)
	}
	meta := map[string]string{
		metaFormat:     ParamsFormat,
		metaParameters: m.Parameters,
		metaStep:       strconv.FormatInt(m.Step, 10),
		metaWidths:     strings.Join(ws, ","),
		metaActivation: m.Activation,
		metaScaling:    m.InputScaling,
		metaClasses:    strconv.Itoa(m.Classes),
		metaOutput:     m.Output(),
	}
	if m.Replica != "" {
		meta[metaReplica] = m.Replica
	}
	return EncodeSafetensors(ts, meta)
}

// DecodeParams parses a parameter file written by EncodeParams: it returns
// the metadata and the flat parameter vector. The tensors must be exactly
// those of the network the metadata describes.
func DecodeParams(b []byte) (ParamsMeta, []float64, error) {
	var m ParamsMeta
	ts, meta, err := DecodeSafetensors(b)
	if err != nil {
		return m, nil, err
	}
	if f := meta[metaFormat]; f != ParamsFormat {
		return m, nil, fmt.Errorf("params: metadata format %q, want %q", f, ParamsFormat)
	}
	for _, k := range []string{metaParameters, metaStep, metaWidths, metaActivation, metaScaling, metaClasses, metaOutput} {
		if _, ok := meta[k]; !ok {
			return m, nil, fmt.Errorf("params: metadata has no %q", k)
		}
	}
	m.Parameters, m.Activation, m.InputScaling, m.Replica = meta[metaParameters], meta[metaActivation], meta[metaScaling], meta[metaReplica]
	if m.Step, err = strconv.ParseInt(meta[metaStep], 10, 64); err != nil {
		return m, nil, fmt.Errorf("params: metadata step %q is not an integer", meta[metaStep])
	}
	if m.Classes, err = strconv.Atoi(meta[metaClasses]); err != nil {
		return m, nil, fmt.Errorf("params: metadata classes %q is not an integer", meta[metaClasses])
	}
	for _, w := range strings.Split(meta[metaWidths], ",") {
		n, err := strconv.Atoi(w)
		if err != nil {
			return m, nil, fmt.Errorf("params: metadata widths %q is not a comma-separated list of integers", meta[metaWidths])
		}
		m.Widths = append(m.Widths, n)
	}
	if err := m.validate(); err != nil {
		return m, nil, err
	}
	if o := meta[metaOutput]; o != m.Output() {
		return m, nil, fmt.Errorf("params: metadata output %q, %d classes need %q", o, m.Classes, m.Output())
	}
	theta, err := FlatParams(m.Widths, ts)
	if err != nil {
		return m, nil, err
	}
	return m, theta, nil
}

// Params is a parameter vector read from a replica directory.
type Params struct {
	// Path is the file that was read.
	Path string
	// Theta is the flat parameter vector in package nn's layout.
	Theta []float64
	// Meta describes the network; nil for a legacy params.bin, which
	// holds only the vector.
	Meta *ParamsMeta
}

// ReadParams reads the parameter file name (FileParams, FileBestParams or
// FileInitParams) of the replica directory dir. For a directory written
// before the safetensors files, which has no FileParams or FileInitParams,
// it reads params.bin or init_params.bin instead (FileBestParams has no
// legacy counterpart). Errors are *FileError naming the file; when neither
// file exists the error wraps fs.ErrNotExist, and a file that ends early
// wraps ErrTruncated.
func ReadParams(dir, name string) (*Params, error) {
	var legacy string
	switch name {
	case FileParams:
		legacy = FileLegacyParams
	case FileInitParams:
		legacy = FileLegacyInitParams
	case FileBestParams:
	default:
		return nil, fmt.Errorf("rundir: %q is not a parameter file name", name)
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		m, theta, err := DecodeParams(b)
		if err != nil {
			return nil, &FileError{path, err}
		}
		return &Params{Path: path, Theta: theta, Meta: &m}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || legacy == "" {
		return nil, &FileError{path, unwrapPath(err)}
	}
	lpath := filepath.Join(dir, legacy)
	b, lerr := os.ReadFile(lpath)
	if errors.Is(lerr, fs.ErrNotExist) {
		return nil, &FileError{path, unwrapPath(err)} // name the current file, not the legacy one
	}
	if lerr != nil {
		return nil, &FileError{lpath, unwrapPath(lerr)}
	}
	theta, err := DecodeLegacyParams(b)
	if err != nil {
		return nil, &FileError{lpath, err}
	}
	return &Params{Path: lpath, Theta: theta}, nil
}

// ResultFiles returns the names of the files a finished replica's result
// carries (train.Replica.Artifacts writes them; a worker sends them inline
// or through the object store): sorted, with FileResult last, the order a
// reader must respect (result.json's presence means the others are
// complete). FileGrid is among them but is present only for
// two-dimensional data (see OptionalResultFile). replica.json and
// trajectory.csv are not result files: they are written as the replica
// starts and runs.
func ResultFiles() []string {
	names := []string{FileBestParams, FileGrid, FileInitParams, FileInterp, FileParams, FilePredictions}
	slices.Sort(names)
	return append(names, FileResult)
}

// OptionalResultFile reports whether the result file name may be absent
// from a finished replica (grid.json, for data that is not
// two-dimensional; the exchange files of ExchangeResultFiles, for a
// replica that is not an exchange set).
func OptionalResultFile(name string) bool {
	return name == FileGrid || slices.Contains(ExchangeResultFiles(), name)
}
