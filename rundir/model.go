package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/heatbath/heatbath/protocol"
)

// FileModel is the description of an exported network that `heatbath
// export` writes beside the parameter files it copies (Model).
const FileModel = "model.json"

// ModelVersion is the schema version of model.json.
const ModelVersion = 1

// Selections: how the exported replica was chosen (Model.Selection.By).
const (
	// SelectBest: the run's best replica, the done replica of lowest
	// best.<Metric> (the choice of the report, ensemble.Summary.Best).
	SelectBest = "best"
	// SelectReplica: the replica the user named.
	SelectReplica = "replica"
)

// Model is model.json: everything a user who only wants the trained network
// needs to rebuild it, feed it and know where it came from. The parameter
// files beside it (Files) load into the torch.nn module PyTorch describes
// with load_state_dict; the network's output goes through Output (a
// sigmoid giving P(class 1) for two classes, a softmax otherwise).
type Model struct {
	// Version is ModelVersion.
	Version int `json:"version"`

	// Widths lists the layer widths [inputs, hidden..., outputs]; outputs
	// is 1 for two classes, Classes otherwise.
	Widths []int `json:"widths"`
	// Activation is the hidden layers' nonlinearity, "relu" or "tanh".
	Activation string `json:"activation"`
	// Output is OutputSigmoid or OutputSoftmax, applied to the last
	// layer's outputs (not part of PyTorch).
	Output string `json:"output"`
	// PyTorch is the module as PyTorch code, e.g. "Sequential(Linear(2,
	// 100), ReLU(), Linear(100, 1))" (names of torch.nn), whose state_dict
	// keys are those of the parameter files (TorchModule).
	PyTorch string `json:"pytorch"`
	// InputScaling is how raw features become inputs: ScalingNone, or
	// ScalingPixels (MNIST: pixel v ∈ {0, …, 255} enters as v/255).
	InputScaling string `json:"input_scaling"`
	// Classes is the number of classes, at least 2.
	Classes int `json:"classes"`
	// Labels[k] is the data set's label of class k: the label of softmax
	// output k, or, with a sigmoid, Labels[1] is the class whose
	// probability the output is (ClassLabels).
	Labels []int `json:"labels"`
	// Data is the data set the network was trained on (Config.Data,
	// repeated here for readers who want only that).
	Data protocol.DataConfig `json:"data"`

	// Sweep and SweepName identify the run (sweep.json); empty for the
	// directory of one chain of `heatbath train`.
	Sweep     string `json:"sweep,omitempty"`
	SweepName string `json:"sweep_name,omitempty"`
	// Replica, Group, Settings and Seed identify the replica
	// (replica.json), Config is its whole configuration.
	Replica  string                 `json:"replica"`
	Group    string                 `json:"group,omitempty"`
	Settings map[string]string      `json:"settings,omitempty"`
	Seed     uint64                 `json:"seed"`
	Config   protocol.ReplicaConfig `json:"config"`
	// Status is the chain's result.json status (StatusDone or
	// StatusDiverged), Steps the steps it ran.
	Status string `json:"status"`
	Steps  int64  `json:"steps"`

	// Selection says how the replica was chosen.
	Selection ModelSelection `json:"selection"`
	// Files lists the parameter files exported, final parameters first.
	Files []ModelFile `json:"files"`
}

// ModelSelection says how an exported replica was chosen.
type ModelSelection struct {
	// By is SelectBest or SelectReplica.
	By string `json:"by"`
	// Metric is the selection metric of SelectBest: "val_loss", or
	// "train_loss" for a run without a validation split; each replica's
	// value is result.json best.<Metric>, never a test metric.
	Metric string `json:"metric,omitempty"`
	// Value is the chosen replica's best.<Metric>.
	Value *float64 `json:"value,omitempty"`
}

// ModelFile is one exported parameter file.
type ModelFile struct {
	// File is the file name, FileParams or FileBestParams.
	File string `json:"file"`
	// Parameters is ParamsFinal or ParamsBest.
	Parameters string `json:"parameters"`
	// Step is the chain's step at which the parameters were taken.
	Step int64 `json:"step"`
	// Metrics are the evaluation at Step (result.json final or best).
	Metrics Metrics `json:"metrics"`
}

// NewModel returns the Model of the replica info whose parameters m
// describes, with Version, the architecture, Data and the replica's
// identity filled in; the caller adds the sweep, status, selection and
// files.
func NewModel(m ParamsMeta, info *protocol.ReplicaInfo) *Model {
	return &Model{
		Version:      ModelVersion,
		Widths:       m.Widths,
		Activation:   m.Activation,
		Output:       m.Output(),
		PyTorch:      TorchModule(m.Widths, m.Activation),
		InputScaling: m.InputScaling,
		Classes:      m.Classes,
		Labels:       ClassLabels(info.Config.Data, m.Classes),
		Data:         info.Config.Data,
		Replica:      info.ID,
		Group:        info.Group,
		Settings:     info.Settings,
		Seed:         info.Seed,
		Config:       info.Config,
	}
}

// TorchModule returns the torch.nn module of a network of the given widths
// and hidden activation ("relu" or "tanh") as PyTorch code:
// "Sequential(Linear(2, 100), ReLU(), Linear(100, 1))". Its state_dict keys
// are those of ParamTensors.
func TorchModule(widths []int, activation string) string {
	act := "ReLU()"
	if activation == "tanh" {
		act = "Tanh()"
	}
	var parts []string
	for l := 0; l+1 < len(widths); l++ {
		if l > 0 {
			parts = append(parts, act)
		}
		parts = append(parts, fmt.Sprintf("Linear(%d, %d)", widths[l], widths[l+1]))
	}
	return "Sequential(" + strings.Join(parts, ", ") + ")"
}

// ClassLabels returns the data set's label of each of the classes class
// indices: MNIST restricted to some digits relabels digits[k] as class k
// (package dataset's FilterClasses), so class k is digit digits[k]; every
// other data set's class k is its label k.
func ClassLabels(d protocol.DataConfig, classes int) []int {
	if d.Kind == "mnist" && len(d.Digits) == classes {
		return append([]int(nil), d.Digits...)
	}
	labels := make([]int, classes)
	for k := range labels {
		labels[k] = k
	}
	return labels
}

// LegacyParamsMeta returns the metadata of a parameter vector of n values
// read from a params.bin, which holds none: the widths from the replica's
// config (the inputs solved from n), the input scaling from the data set,
// and classes, which the caller reads from predictions.json (0: the data
// set's default, 10 or the digits' number for MNIST and 2 for generated
// data; CSV data needs it). It reports an error when n fits no network of
// the config's hidden widths.
func LegacyParamsMeta(info *protocol.ReplicaInfo, classes, n int, which string, step int64) (ParamsMeta, error) {
	cfg := info.Config
	if classes == 0 {
		switch cfg.Data.Kind {
		case "mnist":
			classes = 10
			if len(cfg.Data.Digits) > 0 {
				classes = len(cfg.Data.Digits)
			}
		case "csv":
			return ParamsMeta{}, fmt.Errorf("params: the number of classes of CSV data %s is not known (no predictions.json)", cfg.Data.Path)
		default:
			classes = 2
		}
	}
	hidden := cfg.Model.Hidden
	if len(hidden) == 0 {
		return ParamsMeta{}, fmt.Errorf("params: replica %s: config has no hidden layer widths", info.ID)
	}
	// n = d·h₁ + h₁ + Σ (hᵢ·hᵢ₊₁ + hᵢ₊₁) + h_L·k + k: solve for the inputs d.
	out := outputsFor(classes)
	rest := hidden[0]
	for i := 1; i < len(hidden); i++ {
		rest += hidden[i-1]*hidden[i] + hidden[i]
	}
	rest += hidden[len(hidden)-1]*out + out
	if n <= rest || (n-rest)%hidden[0] != 0 {
		return ParamsMeta{}, fmt.Errorf("params: replica %s: %d parameters fit no network with hidden widths %v and %d classes", info.ID, n, hidden, classes)
	}
	widths := append(append([]int{(n - rest) / hidden[0]}, hidden...), out)
	act := cfg.Model.Activation
	if act == "" {
		act = "relu"
	}
	scaling := ScalingNone
	if cfg.Data.Kind == "mnist" {
		scaling = ScalingPixels
	}
	m := ParamsMeta{Parameters: which, Step: step, Widths: widths, Activation: act, InputScaling: scaling, Classes: classes, Replica: info.ID}
	return m, m.validate()
}

// Encode returns model.json's bytes.
func (m *Model) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rundir: encode %s: %w", FileModel, err)
	}
	return append(b, '\n'), nil
}

// WriteModel writes an exported network into dir (created if needed): the
// parameter files params (by name, each listed in m.Files) and then
// model.json, so that its presence means they are complete. Each file is
// written atomically (WriteFiles). The model.json of an earlier export
// into dir is removed first, and so is a parameter file that m does not
// list, so that the folder holds one network only.
func WriteModel(dir string, m *Model, params map[string][]byte) error {
	files := map[string][]byte{}
	for _, f := range m.Files {
		b, ok := params[f.File]
		if !ok {
			return fmt.Errorf("rundir: model.json lists %s, but no such file is given", f.File)
		}
		files[f.File] = b
	}
	if len(files) != len(params) {
		return fmt.Errorf("rundir: %d parameter files given, model.json lists %d", len(params), len(files))
	}
	b, err := m.Encode()
	if err != nil {
		return err
	}
	files[FileModel] = b
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("rundir: export folder %s: %w", dir, unwrapPath(err))
	}
	// An earlier export's model.json goes first: until the new one is
	// written, the folder reads as incomplete, not as the old network.
	for _, name := range []string{FileModel, FileParams, FileBestParams} {
		if _, ok := files[name]; ok && name != FileModel {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rundir: export folder %s: %w", dir, unwrapPath(err))
		}
	}
	return WriteFiles(dir, files, FileModel)
}

// ReadModel reads dir/model.json.
func ReadModel(dir string) (*Model, error) {
	var m Model
	if err := ReadJSON(filepath.Join(dir, FileModel), &m); err != nil {
		return nil, err
	}
	return &m, nil
}
