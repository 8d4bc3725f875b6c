package ensemble

// This file holds the Options of Analyze and the Summary it returns. The
// JSON schema is documented in docs/summary.md; undefined numbers (a
// standard deviation of one value, a p-value without data, ...) are NaN in
// Go and null in JSON.

import "fmt"

// Options configures Analyze. The zero value gives the defaults.
type Options struct {
	// Thresholds are the test accuracies for "steps to reach". Nil means
	// {0.8, 0.9}.
	Thresholds []float64 `json:"thresholds"`
	// Resamples is the number of bootstrap resamples (group differences,
	// Goldilocks τ). Zero means 2000.
	Resamples int `json:"resamples"`
	// Seed seeds every bootstrap; the same Seed gives the same Summary.
	Seed uint64 `json:"seed"`
	// Pairs lists the group comparisons as {A, B} group names. Nil means the
	// default pairs (see Comparison).
	Pairs [][2]string `json:"pairs,omitempty"`
	// Curves copies the learning curves into Summary.Curves (large in JSON:
	// groups × steps × series). They are always available in Run.Groups.
	Curves bool `json:"curves"`
	// Select is the selection metric of every choice (best replica,
	// representative groups, Goldilocks τ), read at each replica's best
	// checkpoint (result.json "best"): "val_loss" or "train_loss" (lowest
	// wins) or "val_acc" (highest wins). Empty means val_loss when every
	// done replica has a validation split, else train_loss. A validation
	// metric asked for when some done replica has no validation split is
	// an error of Analyze.
	Select string `json:"select,omitempty"`
}

// Selection metrics of Options.Select and Summary.ChosenBy.
const (
	SelectValLoss   = "val_loss"
	SelectValAcc    = "val_acc"
	SelectTrainLoss = "train_loss"
)

// SelectMetrics are the values Options.Select takes (besides "").
var SelectMetrics = []string{SelectValLoss, SelectValAcc, SelectTrainLoss}

// NoValidationError is the error of Analyze when Options.Select asks for
// a validation metric and Missing of the Done done replicas have no
// validation split.
type NoValidationError struct {
	Select        string
	Missing, Done int
}

// Error says what was asked for and what to ask for instead.
func (e *NoValidationError) Error() string {
	return fmt.Sprintf("ensemble: Options.Select %s: %d of %d done replicas have no validation split (select %s instead)", e.Select, e.Missing, e.Done, SelectTrainLoss)
}

// Extreme is "highest" for a selection metric where higher is better
// (val_acc) and "lowest" for the others (losses): the word for how the
// metric chooses, as in "the lowest best.val_loss".
func Extreme(chosenBy string) string {
	if chosenBy == SelectValAcc {
		return "highest"
	}
	return "lowest"
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.Thresholds == nil {
		o.Thresholds = []float64{0.8, 0.9}
	}
	if o.Resamples == 0 {
		o.Resamples = 2000
	}
	return o
}

// SummaryVersion is the schema version written in Summary.Version.
const SummaryVersion = 1

// Summary is the result of Analyze: robustness statistics per group,
// comparisons, the best parameterization, temperature ladders, convergence
// and equipartition diagnostics, and model averaging. Every list is sorted
// (by group name, method, τ, ...), so a Summary depends only on the run's
// contents and Options, never on the order replicas were listed or read.
type Summary struct {
	// Version is SummaryVersion.
	Version int     `json:"version"`
	Run     RunInfo `json:"run"`
	// Options are the options used, defaults filled in.
	Options Options `json:"options"`
	// ChosenBy is the validation metric every selection uses: "val_loss",
	// or "train_loss" when some done replica has no validation split (then
	// the whole run falls back to the training loss of result.json "best").
	ChosenBy string `json:"chosen_by"`
	// BurnIn is the fraction of each loss trace discarded before the
	// convergence diagnostics (0.5: the first half).
	BurnIn float64 `json:"burn_in"`
	// Status counts all replicas of the run.
	Status StatusCounts `json:"status"`

	Groups      []GroupSummary `json:"groups"`
	Comparisons []Comparison   `json:"comparisons"`
	Spread      *Spread        `json:"spread"`
	Best        *BestReplica   `json:"best"`
	BestGroup   *BestGroup     `json:"best_group"`
	// Methods lists, per method in name order, the method's representative
	// group and best replica: the one choice every table and chart uses for
	// the method (see MethodSelection).
	Methods        []MethodSelection `json:"methods"`
	Ladders        []Ladder          `json:"ladders"`
	Convergence    []Convergence     `json:"convergence"`
	Equipartition  []Equipartition   `json:"equipartition"`
	ModelAveraging []ModelAveraging  `json:"model_averaging"`
	Replicas       []ReplicaSummary  `json:"replicas"`
	// Problems lists every failed, cancelled, diverged and unreadable
	// replica with its error code and message, the step it diverged at, or
	// its damaged file (see ReplicaProblem); empty when every replica is
	// done or incomplete.
	Problems []ReplicaProblem `json:"problems"`
	// Curves is filled only when Options.Curves is set.
	Curves   []*Curves `json:"curves,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
}

// RunInfo identifies the run (sweep.json).
type RunInfo struct {
	Dir      string `json:"dir"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	SpecHash string `json:"spec_hash"`
	Created  string `json:"created"`
}

// GroupSummary holds the robustness statistics of one group over its done
// replicas (seeds).
type GroupSummary struct {
	Group    string            `json:"group"`
	Method   string            `json:"method"`
	Settings map[string]string `json:"settings"`
	Status   StatusCounts      `json:"status"`

	// FinalTestAcc and FinalTestLoss describe result.json final.test_*.
	FinalTestAcc  Stats `json:"final_test_acc"`
	FinalTestLoss Stats `json:"final_test_loss"`
	// BestTestAcc and BestTestLoss describe result.json best.test_*: the
	// test metrics at each replica's best-validation evaluation (never the
	// maximum over test).
	BestTestAcc  Stats `json:"best_test_acc"`
	BestTestLoss Stats `json:"best_test_loss"`
	// Selection describes the selection metric best.<ChosenBy>.
	Selection Stats `json:"selection"`
	// Reach gives, per threshold, the steps to reach the test accuracy.
	Reach []Reach `json:"reach"`
}

// Reach describes the first step at which the test accuracy reached
// Threshold, over the done replicas that have a trajectory.
type Reach struct {
	Threshold float64 `json:"threshold"`
	// N = Reached + Never.
	N       int `json:"n"`
	Reached int `json:"reached"`
	Never   int `json:"never"`
	// Steps describes the first-reach step over the replicas that reached
	// the threshold (conditional on reaching it).
	Steps Stats `json:"steps"`
	// MedianAll is the median over all N replicas counting "never" as +∞:
	// NaN (null) when at least half never reached the threshold.
	MedianAll float64 `json:"median_all"`
}

// Comparison compares the final test accuracy of groups A and B.
//
// Default pairs (Options.Pairs nil): each method is represented by its best
// group (lowest mean selection metric); with two methods or more, all pairs
// of representatives are compared. With a single method, all pairs of groups
// are compared when there are at most 12 groups, else every group against
// the best group.
type Comparison struct {
	A       string  `json:"a"`
	B       string  `json:"b"`
	MethodA string  `json:"method_a"`
	MethodB string  `json:"method_b"`
	NA      int     `json:"n_a"`
	NB      int     `json:"n_b"`
	MeanA   float64 `json:"mean_a"`
	MeanB   float64 `json:"mean_b"`
	SDA     float64 `json:"sd_a"`
	SDB     float64 `json:"sd_b"`
	// Diff = MeanA − MeanB, with the 95% percentile bootstrap interval
	// [DiffLo, DiffHi] (BootstrapDiff, Options.Resamples resamples).
	Diff   float64 `json:"diff"`
	DiffLo float64 `json:"diff_lo"`
	DiffHi float64 `json:"diff_hi"`
	// G is the standardized effect, Hedges' g of the final test accuracy
	// of A against B, with its 95% percentile bootstrap interval [GLo,
	// GHi] (BootstrapHedgesG); NaN (null) when a group has fewer than two
	// done replicas or no spread.
	G   float64 `json:"hedges_g"`
	GLo float64 `json:"hedges_g_lo"`
	GHi float64 `json:"hedges_g_hi"`
	// Reach compares the steps to reach each Options.Thresholds test
	// accuracy (ReachComparison), in threshold order.
	Reach []ReachComparison `json:"reach"`
	// Levene is the Brown–Forsythe test of equal variance of the final test
	// accuracy across initializations (seeds) in A and B.
	Levene LeveneResult `json:"levene"`
}

// Spread tests whether the spread over initializations differs between
// methods: a Brown–Forsythe test across the methods' representative groups
// (see Comparison). Nil when fewer than two methods have done replicas.
type Spread struct {
	Groups  []string     `json:"groups"`
	Methods []string     `json:"methods"`
	N       []int        `json:"n"`
	SD      []float64    `json:"sd"`
	IQR     []float64    `json:"iqr"`
	Levene  LeveneResult `json:"levene"`
}

// BestReplica is the single best parameterization: the done replica with
// the lowest best.<ChosenBy> (ties broken by ID). It is never chosen on
// test metrics.
type BestReplica struct {
	ID       string            `json:"id"`
	Group    string            `json:"group"`
	Method   string            `json:"method"`
	Settings map[string]string `json:"settings"`
	Seed     uint64            `json:"seed"`
	ChosenBy string            `json:"chosen_by"`
	// Value is the replica's best.<ChosenBy>.
	Value float64 `json:"value"`
	// AtBest is the evaluation with the lowest validation loss (its test
	// metrics are those at the selected checkpoint).
	AtBest Metrics `json:"at_best"`
	// Final is the last evaluation. The final parameters file holds its
	// parameters, so Final's test metrics are those of ParamsPath.
	Final Metrics `json:"final"`
	// ParamsPath is the path of the replica's final parameters
	// (params.safetensors, or params.bin in older run directories; "" if
	// absent).
	ParamsPath string `json:"params_path"`
	// Predictions scores the final sample's predictions (nil without
	// predictions.json).
	Predictions *Score `json:"predictions"`
}

// BestGroup is the group with the lowest mean selection metric over its
// done replicas (ties broken by name).
type BestGroup struct {
	Group    string            `json:"group"`
	Method   string            `json:"method"`
	Settings map[string]string `json:"settings"`
	ChosenBy string            `json:"chosen_by"`
	// Selection describes best.<ChosenBy> over the group's done replicas.
	Selection    Stats `json:"selection"`
	FinalTestAcc Stats `json:"final_test_acc"`
}

// MethodSelection is what stands for one method in the comparisons, the
// spread test, the report and its charts. Analyze makes both choices once,
// on best.<ChosenBy> (never on test metrics); consumers read them here
// instead of choosing again.
type MethodSelection struct {
	Method string `json:"method"`
	// ChosenBy is the selection metric (Summary.ChosenBy).
	ChosenBy string `json:"chosen_by"`
	// Groups lists the method's groups with done replicas, by name.
	Groups []string `json:"groups"`
	// Representative is the method's group of lowest mean best.<ChosenBy>
	// over its done replicas (the first by name on ties): the group the
	// default comparisons, the spread test and the charts use for the
	// method. Nil when no group of the method has done replicas with a
	// finite mean.
	Representative *BestGroup `json:"representative"`
	// Best is the method's done replica of lowest best.<ChosenBy> (the
	// first by ID on ties), the method's best single parameterization. It
	// need not belong to Representative: the best chain and the best group
	// on average answer different questions. Nil when the method has no
	// done replica with a finite best.<ChosenBy>.
	Best *BestReplica `json:"best"`
}

// Ladder is a temperature ladder: the groups of one method that differ only
// in τ (settings["tau"]), the other settings being Fixed. Points are sorted
// by τ.
type Ladder struct {
	Method string            `json:"method"`
	Fixed  map[string]string `json:"fixed"`
	Points []LadderPoint     `json:"points"`
	// Goldilocks is the best τ with its interval; nil when no point has
	// done replicas.
	Goldilocks *Goldilocks `json:"goldilocks"`
}

// LadderPoint is one τ of a Ladder.
type LadderPoint struct {
	Tau    float64      `json:"tau"`
	Group  string       `json:"group"`
	Status StatusCounts `json:"status"`
	// TestAcc and TestLoss describe the final test metrics over seeds
	// (mean with its 95% Student-t interval in CILo, CIHi).
	TestAcc  Stats `json:"test_acc"`
	TestLoss Stats `json:"test_loss"`
	// Metric describes best.<ChosenBy> over the point's done replicas, the
	// selection metric Goldilocks minimizes (the same numbers as the
	// group's GroupSummary.Selection).
	Metric Stats `json:"metric"`
	// PBest is the fraction of bootstrap resamples in which this τ had the
	// lowest mean metric.
	PBest float64 `json:"p_best"`
}

// Goldilocks is the best temperature of a Ladder.
//
// Tau minimizes the mean over seeds of best.<ChosenBy>, the selection
// metric of every other choice of the Summary (validation loss at each
// replica's best evaluation, or training loss when the run has no
// validation split); its group is the one the ladder's groups would give
// as a representative. The interval is a bootstrap over seeds of the
// argmin: each of Options.Resamples resamples draws the seeds of every τ
// with replacement and records the τ of lowest mean; Lo and Hi are the
// 2.5% and 97.5% quantiles of that argmin in τ order, and PBest of each
// point its frequency.
type Goldilocks struct {
	Tau   float64 `json:"tau"`
	Group string  `json:"group"`
	// ChosenBy is the selection metric (Summary.ChosenBy): Tau has the
	// lowest mean best.<ChosenBy>.
	ChosenBy string `json:"chosen_by"`
	// Value is that mean.
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	// PBest is the bootstrap frequency of Tau as the argmin.
	PBest float64 `json:"p_best"`
	// TestAcc describes the final test accuracy at Tau.
	TestAcc Stats `json:"test_acc"`
}

// Convergence holds the across-chain diagnostics of one loss trace of one
// group. The chains are the group's done replicas; each trace (thinned to at
// most MaxTracePoints evaluations) is cut to the shortest one and its first
// half is discarded as burn-in.
type Convergence struct {
	Group  string `json:"group"`
	Metric string `json:"metric"` // "train_loss" or "test_loss"
	Chains int    `json:"chains"`
	// Draws is the number of draws per chain after burn-in.
	Draws int `json:"draws"`
	// SplitRHat is the classic split R̂ (Gelman et al., BDA3).
	SplitRHat float64 `json:"split_rhat"`
	// RankRHat is the rank-normalized split R̂, max of bulk and tail
	// (Vehtari et al. 2021).
	RankRHat float64 `json:"rank_rhat"`
	// BulkESS is the bulk effective sample size over all chains.
	BulkESS float64 `json:"bulk_ess"`
}

// Equipartition compares the kinetic temperature of a thermostat group with
// its target, per method and thermostat group name, over the done replicas:
//
//	relative error e = |⟨T_kin⟩ − τ| / τ
//
// with ⟨T_kin⟩ the time-averaged tkin_mean of result.json. Groups without
// momenta (tkin_mean zero or absent) or with τ = 0 are skipped.
type Equipartition struct {
	Method     string `json:"method"`
	Name       string `json:"name"`
	Integrator string `json:"integrator"`
	Replicas   int    `json:"replicas"`
	// RelErr describes e over replicas.
	RelErr Stats `json:"rel_err"`
	// Ratio describes ⟨T_kin⟩/τ over replicas.
	Ratio Stats `json:"ratio"`
	// RelErrScheduled describes |⟨T_kin⟩ − ⟨τ(n)⟩|/⟨τ(n)⟩, with ⟨τ(n)⟩ the
	// mean of the trajectory's tau:<name> column; it differs from RelErr
	// only under a temperature schedule.
	RelErrScheduled Stats `json:"rel_err_scheduled"`
}

// ModelAveraging compares, for one group, the posterior predictive (the
// chains' `averaged` probabilities averaged over chains) with the group's
// single best parameterization (lowest best.<ChosenBy>, `final`
// probabilities) and with the average single chain.
type ModelAveraging struct {
	Group  string `json:"group"`
	Chains int    `json:"chains"`
	// Ensemble scores the average over chains of the last-K averages.
	Ensemble *Score `json:"ensemble"`
	// BestReplica and Best score the group's best replica's final sample.
	BestReplica string `json:"best_replica"`
	Best        *Score `json:"best"`
	// ChainFinal and ChainAveraged are the mean over chains of the scores of
	// each chain's final sample and of its own last-K average (no
	// reliability bins).
	ChainFinal    *Score `json:"chain_final"`
	ChainAveraged *Score `json:"chain_averaged"`
}

// ReplicaSummary lists one replica's status and metrics.
type ReplicaSummary struct {
	ID     string  `json:"id"`
	Group  string  `json:"group"`
	Seed   uint64  `json:"seed"`
	Status Status  `json:"status"`
	Error  string  `json:"error,omitempty"`
	Steps  int64   `json:"steps"`
	Final  Metrics `json:"final"`
	Best   Metrics `json:"best"`
}
