package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/heatbath/heatbath/protocol"
)

// Status values of result.json, failure.json and summary.json.
const (
	StatusDone      = "done"
	StatusDiverged  = "diverged"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	// StatusPruned: successive halving stopped the replica at a milestone
	// (summary.json, replicas.csv); its partial trajectory is kept.
	StatusPruned = "pruned"
	// StatusRunning is the status of a chain that has not finished (a
	// result computed mid-run); it is never written to a run directory.
	StatusRunning = "running"
)

// Schema versions of the JSON files.
const (
	SweepVersion   = 1
	ResultVersion  = 1
	FailureVersion = 1
	SummaryVersion = 2
)

// Sweep is sweep.json: the sweep's identity and every replica it expands
// to, finished or not. The coordinator writes it when it starts collecting.
type Sweep struct {
	Version  int    `json:"version"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	SpecHash string `json:"spec_hash"`
	// Created is the submission time, an RFC 3339 JSON string, kept as
	// written.
	Created  json.RawMessage `json:"created"`
	Replicas []SweepEntry    `json:"replicas"`
}

// SweepEntry is one replica of sweep.json (the identity part of
// replica.json).
type SweepEntry struct {
	ID       string            `json:"id"`
	Index    int               `json:"index"`
	Group    string            `json:"group"`
	Settings map[string]string `json:"settings"`
	Seed     uint64            `json:"seed"`
}

// Metrics are the metrics of one evaluation in result.json and
// summary.json; a missing value (an empty split, NaN) is null.
type Metrics struct {
	Step      int64    `json:"step"`
	TrainLoss *float64 `json:"train_loss"`
	TrainAcc  *float64 `json:"train_acc"`
	ValLoss   *float64 `json:"val_loss"`
	ValAcc    *float64 `json:"val_acc"`
	TestLoss  *float64 `json:"test_loss"`
	TestAcc   *float64 `json:"test_acc"`
}

// Finite returns a pointer to v, or nil when v is NaN or infinite (null in
// JSON).
func Finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Value returns *p, or NaN for nil.
func Value(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// GroupInfo describes one group of a partition: the tensors one integrator
// moves.
type GroupInfo struct {
	Name       string   `json:"name"`
	Integrator string   `json:"integrator"`
	Tensors    []string `json:"tensors"`
}

// GroupResult is the final diagnostic of one group.
type GroupResult struct {
	GroupInfo
	N        int                `json:"n"`
	Tau      float64            `json:"tau"`
	TKin     *float64           `json:"tkin"`
	TKinMean *float64           `json:"tkin_mean"`
	Xi       map[string]float64 `json:"xi,omitempty"`
}

// LayerResult is the final weight diagnostic of one layer.
type LayerResult struct {
	Name       string  `json:"name"`
	WeightNorm float64 `json:"weight_norm"`
	FracSmall  float64 `json:"frac_small"`
}

// Result is result.json: a finished chain's final and best metrics and
// diagnostics. Status is StatusDone or StatusDiverged.
type Result struct {
	Version        int           `json:"version"`
	Status         string        `json:"status"`
	Error          string        `json:"error,omitempty"`
	DivergedAt     int64         `json:"diverged_at,omitempty"`
	Steps          int64         `json:"steps"`
	Final          Metrics       `json:"final"`
	Best           Metrics       `json:"best"`
	BestBy         string        `json:"best_by"`
	Groups         []GroupResult `json:"groups"`
	Layers         []LayerResult `json:"layers"`
	SmallThreshold float64       `json:"small_threshold"`
	ElapsedSeconds float64       `json:"elapsed_seconds,omitempty"`
	StepsPerSecond float64       `json:"steps_per_second,omitempty"`
	// Numerics is the numerics version (nn.NumericsVersion) that computed
	// the chain; 0 in results written before it was recorded.
	Numerics int `json:"numerics,omitempty"`
}

// Encode returns result.json's bytes.
func (r *Result) Encode() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// Failure is failure.json: why a replica failed. A failed replica has no
// result.json; a diverged chain is a result, not a failure.
type Failure struct {
	Version int    `json:"version"`
	Replica string `json:"replica"`
	// Code is the protocol error code (invalid_config, max_deliver,
	// internal, ...), Message the reason.
	Code     string `json:"code"`
	Message  string `json:"message"`
	Attempts int    `json:"attempts"`
	Worker   string `json:"worker,omitempty"`
	// Step is the step the chain had reached, when known.
	Step int64     `json:"step,omitempty"`
	Time time.Time `json:"time"`
}

// Summary is the coordinator's summary.json: every replica's final state.
type Summary struct {
	Version int    `json:"version"`
	Sweep   string `json:"sweep"`
	Name    string `json:"name"`
	// Counts holds the number of replicas by Status (done, diverged,
	// failed, cancelled).
	Counts   map[string]int   `json:"counts"`
	Replicas []SummaryReplica `json:"replicas"`
	// Prune says how successive halving went, for a sweep with a prune
	// section (nil otherwise); see prune.go.
	Prune *PruneSummary `json:"prune,omitempty"`
}

// SummaryReplica is one replica's line of summary.json.
type SummaryReplica struct {
	ID       string            `json:"id"`
	Index    int               `json:"index"`
	Group    string            `json:"group"`
	Settings map[string]string `json:"settings"`
	Seed     uint64            `json:"seed"`
	// State is the replica's final state in JetStream (done, failed,
	// cancelled); Status is result.json's status where there is one (done,
	// diverged), else the state.
	State      string   `json:"state"`
	Status     string   `json:"status"`
	Attempts   int      `json:"attempts"`
	Steps      int64    `json:"steps"`
	DivergedAt int64    `json:"diverged_at,omitempty"`
	ErrorCode  string   `json:"error_code,omitempty"`
	Error      string   `json:"error,omitempty"`
	Final      *Metrics `json:"final,omitempty"`
	Best       *Metrics `json:"best,omitempty"`
}

// Failed, Diverged and Cancelled return the numbers of replicas with those
// statuses.
func (s *Summary) Failed() int { return s.Counts[StatusFailed] }

// Diverged returns the number of diverged replicas.
func (s *Summary) Diverged() int { return s.Counts[StatusDiverged] }

// Cancelled returns the number of cancelled replicas.
func (s *Summary) Cancelled() int { return s.Counts[StatusCancelled] }

// FileError is an unreadable, truncated or malformed file of a run
// directory.
type FileError struct {
	Path string
	Err  error
}

// Error returns "path: reason".
func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the reason, for errors.Is (ErrTruncated, fs.ErrNotExist).
func (e *FileError) Unwrap() error { return e.Err }

// ErrTruncated is wrapped by the errors of files that end early (a JSON
// document cut off, a CSV line without its newline).
var ErrTruncated = errors.New("truncated")

// ReadJSON decodes the JSON file path into v strictly (unknown fields are
// allowed: newer writers may add some). Errors are *FileError; a file cut
// off wraps ErrTruncated, a missing one fs.ErrNotExist.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return &FileError{path, unwrapPath(err)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &se) && int(se.Offset) >= len(bytes.TrimRight(b, " \t\r\n"))) {
			return &FileError{path, fmt.Errorf("%w: %v", ErrTruncated, err)}
		}
		return &FileError{path, err}
	}
	if dec.More() {
		return &FileError{path, errors.New("data after the JSON value")}
	}
	return nil
}

// WriteJSON writes v as indented JSON to path atomically (WriteFile).
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("rundir: encode %s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'))
}

// ReadSweep reads the run directory's sweep.json.
func ReadSweep(run string) (*Sweep, error) {
	var s Sweep
	if err := ReadJSON(filepath.Join(run, FileSweep), &s); err != nil {
		return nil, err
	}
	if s.ID == "" {
		return nil, &FileError{filepath.Join(run, FileSweep), errors.New(`no sweep "id"`)}
	}
	return &s, nil
}

// WriteSweep writes the run directory's sweep.json.
func WriteSweep(run string, s *Sweep) error { return WriteJSON(filepath.Join(run, FileSweep), s) }

// ReadResult reads a replica directory's result.json.
func ReadResult(replicaDir string) (*Result, error) {
	var r Result
	if err := ReadJSON(filepath.Join(replicaDir, FileResult), &r); err != nil {
		return nil, err
	}
	switch r.Status {
	case StatusDone, StatusDiverged:
	default:
		return nil, &FileError{filepath.Join(replicaDir, FileResult), fmt.Errorf("status %q, want done or diverged", r.Status)}
	}
	return &r, nil
}

// ReadReplicaInfo reads a replica directory's replica.json.
func ReadReplicaInfo(replicaDir string) (*protocol.ReplicaInfo, error) {
	var r protocol.ReplicaInfo
	if err := ReadJSON(filepath.Join(replicaDir, FileReplica), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// EncodeReplicaInfo returns replica.json's bytes.
func EncodeReplicaInfo(r *protocol.ReplicaInfo) ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// ReadFailure reads a replica directory's failure.json.
func ReadFailure(replicaDir string) (*Failure, error) {
	var f Failure
	if err := ReadJSON(filepath.Join(replicaDir, FileFailure), &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// WriteFailure writes a replica directory's failure.json (creating the
// directory).
func WriteFailure(replicaDir string, f *Failure) error {
	if err := os.MkdirAll(replicaDir, 0o755); err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	if f.Version == 0 {
		f.Version = FailureVersion
	}
	return WriteJSON(filepath.Join(replicaDir, FileFailure), f)
}

// ReadSummary reads the run directory's summary.json.
func ReadSummary(run string) (*Summary, error) {
	var s Summary
	if err := ReadJSON(filepath.Join(run, FileSummary), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WriteSummary writes the run directory's summary.json.
func WriteSummary(run string, s *Summary) error {
	return WriteJSON(filepath.Join(run, FileSummary), s)
}

// Exists reports whether path exists; errors other than its absence are
// returned.
func Exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}
