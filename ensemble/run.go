package ensemble

import "github.com/heatbath/heatbath/rundir"

// This file holds the in-memory view of a run directory (docs/formats.md)
// that LoadRun builds. It keeps per replica only what the statistics need;
// see the package documentation for the memory bound.

// Status is the state of one replica: the status of result.json (done,
// diverged), failed or cancelled (failure.json, or the coordinator's
// summary.json), pruned (stopped at a milestone by successive halving:
// the coordinator's summary.json), StatusIncomplete for a replica listed in sweep.json that
// has none of these yet, and StatusUnreadable for one whose files are
// damaged.
type Status string

// Replica statuses. Only StatusDone replicas enter any statistic; the others
// are counted (StatusCounts) and reported, never averaged in.
const (
	StatusDone      Status = rundir.StatusDone
	StatusDiverged  Status = rundir.StatusDiverged
	StatusFailed    Status = rundir.StatusFailed
	StatusCancelled Status = rundir.StatusCancelled
	// StatusPruned: successive halving stopped the replica at a
	// milestone; its partial trajectory is kept, its metrics enter no
	// statistic.
	StatusPruned Status = rundir.StatusPruned
	// StatusIncomplete: listed in sweep.json, without result.json or
	// failure.json (not finished, or the run was interrupted).
	StatusIncomplete Status = "incomplete"
	// StatusUnreadable: a file of the replica is unreadable, truncated or
	// malformed (Replica.File and Replica.Error say which and why); the
	// replica is skipped and listed in Run.Warnings.
	StatusUnreadable Status = "unreadable"
)

// String returns the status as written in summary.json.
func (s Status) String() string { return string(s) }

// Valid reports whether s is one of the seven known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusDone, StatusDiverged, StatusFailed, StatusCancelled, StatusPruned, StatusIncomplete, StatusUnreadable:
		return true
	}
	return false
}

// StatusCounts counts replicas by status. Total is the number of replicas
// listed in sweep.json, so Total = Done + Diverged + Failed + Cancelled +
// Pruned + Incomplete + Unreadable.
type StatusCounts struct {
	Total      int `json:"total"`
	Done       int `json:"done"`
	Diverged   int `json:"diverged"`
	Failed     int `json:"failed"`
	Cancelled  int `json:"cancelled"`
	Incomplete int `json:"incomplete"`
	Unreadable int `json:"unreadable"`
	// Pruned counts the replicas stopped by successive halving (absent
	// from the JSON of a run without any).
	Pruned int `json:"pruned,omitempty"`
}

// Add counts one replica of status s.
func (c *StatusCounts) Add(s Status) {
	c.Total++
	switch s {
	case StatusDone:
		c.Done++
	case StatusDiverged:
		c.Diverged++
	case StatusFailed:
		c.Failed++
	case StatusCancelled:
		c.Cancelled++
	case StatusPruned:
		c.Pruned++
	case StatusIncomplete:
		c.Incomplete++
	case StatusUnreadable:
		c.Unreadable++
	default:
		panic("ensemble: unknown status " + string(s))
	}
}

// Metrics is one evaluation of a replica, as in result.json's "final" and
// "best" (rundir.Metrics), with a missing value (null: an empty split, a
// non-finite loss) as NaN.
type Metrics struct {
	Step      int64   `json:"step"`
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	ValLoss   float64 `json:"val_loss"`
	ValAcc    float64 `json:"val_acc"`
	TestLoss  float64 `json:"test_loss"`
	TestAcc   float64 `json:"test_acc"`
}

// Thermostat is one parameter group of a replica's integrator (result.json
// "groups") with its kinetic temperature.
type Thermostat struct {
	// Name is the group name ("hidden", "output", ...).
	Name string `json:"name"`
	// Integrator is the group's integrator ("adaptive", "langevin", ...).
	Integrator string `json:"integrator"`
	// N is the number of parameters in the group.
	N int `json:"n"`
	// Tau is the group's target temperature τ from result.json.
	Tau float64 `json:"tau"`
	// TkinMean is the running mean over all steps of the kinetic
	// temperature |p|²/N. It comes from result.json, or from the last
	// non-empty tkin_mean:<name> cell of trajectory.csv when result.json
	// lacks it. It is zero for groups without momenta.
	TkinMean float64 `json:"tkin_mean"`
	// TauMean is the mean over the rows of trajectory.csv of the scheduled
	// temperature τ(n) (column tau:<name>); it equals Tau for a constant
	// schedule. NaN when the trajectory has no such column.
	TauMean float64 `json:"tau_mean"`
}

// StepValue is a value observed at a step.
type StepValue struct {
	Step  int64   `json:"step"`
	Value float64 `json:"value"`
}

// Trace is what LoadRun keeps of one replica's trajectory.csv.
//
// Loss traces are thinned while streaming: the evaluation with row index i
// (0-based) is kept when i is a multiple of Stride, and Stride doubles
// whenever MaxTracePoints points are held, so at most MaxTracePoints points
// are kept, evenly spaced in evaluations.
type Trace struct {
	// Rows is the number of evaluation rows read.
	Rows int `json:"rows"`
	// Stride is the thinning stride of Steps, TrainLoss and TestLoss.
	Stride int `json:"stride"`
	// Steps, TrainLoss and TestLoss are the thinned traces.
	Steps     []int64   `json:"steps"`
	TrainLoss []float64 `json:"train_loss"`
	TestLoss  []float64 `json:"test_loss"`
	// AccRecord is the running maximum of test_acc: one entry at every row
	// where test_acc exceeds all earlier rows, so the first step at which
	// any accuracy threshold is reached can be read off it exactly.
	AccRecord []StepValue `json:"acc_record"`
}

// MaxTracePoints bounds the number of points of each thinned loss trace kept
// per replica.
const MaxTracePoints = 512

// FirstReach returns the first step at which the test accuracy was at least
// threshold, and false if it never was.
func (t *Trace) FirstReach(threshold float64) (step int64, ok bool) {
	for _, r := range t.AccRecord {
		if r.Value >= threshold {
			return r.Step, true
		}
	}
	return 0, false
}

// Replica is one chain of the sweep: its identity from sweep.json, its
// result.json, and the reduced trajectory and predictions.
type Replica struct {
	ID       string            `json:"id"`
	Index    int               `json:"index"`
	Group    string            `json:"group"`
	Settings map[string]string `json:"settings"`
	Seed     uint64            `json:"seed"`
	// Dir is the replica directory, <run>/replicas/<id>.
	Dir string `json:"dir"`

	// Status is read from result.json, failure.json or the coordinator's
	// summary.json (see Status).
	Status Status `json:"status"`
	// ErrorCode is the error code of a failed or cancelled replica
	// (failure.json "code": invalid_config, max_deliver, cancelled, ...).
	ErrorCode string `json:"error_code,omitempty"`
	// Error is the reason for a status other than done: result.json's
	// "error" (diverged), failure.json's "message" (failed, cancelled), or
	// the damage of an unreadable replica.
	Error string `json:"error,omitempty"`
	// File is the damaged file of an unreadable replica (with ":line" for
	// CSV).
	File string `json:"file,omitempty"`
	// Attempts and Worker are failure.json's: how many times the replica
	// was tried, and the worker of the last attempt.
	Attempts int    `json:"attempts,omitempty"`
	Worker   string `json:"worker,omitempty"`
	// DivergedAt is the step at which a diverged chain went non-finite.
	DivergedAt int64 `json:"diverged_at,omitempty"`
	// Steps is the number of steps run (for a failed replica, the step it
	// had reached when known).
	Steps int64 `json:"steps"`

	Final Metrics `json:"final"`
	// Best is the evaluation with the lowest validation loss (training loss
	// when there is no validation split), chosen by the trainer.
	Best Metrics `json:"best"`
	// BestBy is "val_loss" or "train_loss": how Best was chosen.
	BestBy string `json:"best_by"`

	Thermostats []Thermostat `json:"thermostats,omitempty"`
	// SmallThreshold is result.json's small_threshold: the magnitude below
	// which a parameter counts as near zero (0 when unknown).
	SmallThreshold float64 `json:"small_threshold,omitempty"`

	// Trace is nil when the replica is not done or has no trajectory.csv.
	Trace *Trace `json:"trace,omitempty"`
	// Predictions is nil when the replica is not done or has no
	// predictions.json.
	Predictions *ReplicaPredictions `json:"predictions,omitempty"`
	// ParamsPath is the path of the final parameters (params.safetensors,
	// or params.bin in a run directory written before it), empty when
	// neither exists. rundir.ReadParams reads either.
	ParamsPath string `json:"params_path,omitempty"`
}

// ReplicaPredictions scores a replica's predictions.json on the test split.
type ReplicaPredictions struct {
	// K is the number of evaluations averaged in "averaged".
	K int `json:"k"`
	// Final scores the final sample's class probabilities.
	Final Score `json:"final"`
	// Averaged scores the class probabilities averaged over the last K
	// evaluations of this chain.
	Averaged Score `json:"averaged"`
}

// Group holds what is accumulated across the done replicas of one group
// while streaming (learning curves, the model average), plus the group's
// identity.
type Group struct {
	// Name is the group key of sweep.json: all settings but the seed.
	Name string `json:"name"`
	// Method is settings["method"].
	Method string `json:"method"`
	// Settings are the replicas' settings without "seed".
	Settings map[string]string `json:"settings"`
	// Curves are the learning curves over the done replicas.
	Curves *Curves `json:"curves"`
	// Ensemble scores the posterior predictive: the `averaged` class
	// probabilities averaged over all done chains of the group. Nil when no
	// done replica has predictions.json.
	Ensemble *Score `json:"ensemble,omitempty"`
	// EnsembleChains is the number of chains in Ensemble.
	EnsembleChains int `json:"ensemble_chains"`
}

// Run is a loaded run directory.
type Run struct {
	// Dir is the run directory given to LoadRun.
	Dir      string `json:"dir"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	SpecHash string `json:"spec_hash"`
	Created  string `json:"created"`
	// Replicas holds every replica listed in sweep.json, sorted by ID.
	// Analyze does not depend on this order.
	Replicas []*Replica `json:"replicas"`
	// Groups holds every group of sweep.json, sorted by name.
	Groups []*Group `json:"groups"`
	// Warnings lists problems that did not stop loading: each replica
	// skipped as unreadable (its file and the reason), a done replica
	// without trajectory.csv, a directory not listed in sweep.json, ...
	Warnings []string `json:"warnings,omitempty"`
}

// Group returns the group with the given name, or nil.
func (r *Run) Group(name string) *Group {
	for _, g := range r.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}
