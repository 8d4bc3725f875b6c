// Package ensemble computes cross-replica statistics of a Heatbath run
// directory (docs/formats.md): robustness over seeds, comparisons between
// groups, the best parameterization, temperature ladders, convergence and
// equipartition diagnostics, and model averaging.
//
// # Use
//
//	run, err := ensemble.LoadRun(dir)
//	...
//	sum, err := ensemble.Analyze(run, ensemble.Options{Seed: 1})
//	...
//	ensemble.WriteJSON(w, sum)      // report/summary.json, schema in docs/summary.md
//	ensemble.WriteMarkdown(w, sum)  // report/summary.md
//	ensemble.WriteTable(w, sum)     // the terminal table
//
// The building blocks (Describe, Quantile, MeanCI95, TInterval,
// BootstrapDiff, Levene, SplitRHat, RankRHat, ESS, ECE, ScorePredictions,
// CurveAccumulator) are pure functions of their arguments.
//
// # Loading and memory
//
// LoadRun reads the run directory through package rundir: sweep.json and,
// for every listed replica in ID order, its result.json (or failure.json)
// and replica.json. For a done replica it streams trajectory.csv row by
// row and decodes predictions.json once, keeping only:
//
//   - the train_loss and test_loss traces, thinned to at most
//     MaxTracePoints evenly spaced evaluations (for R̂ and ESS);
//   - the running maximum of test_acc at the rows where it increases (the
//     first step reaching any accuracy threshold is read off it exactly);
//   - the time average of each tau:<g> column and the last tkin_mean:<g>;
//   - the scores of its final and averaged predictions;
//   - its contribution to the group's learning curves (running mean and
//     sum of squared deviations per step) and to the group's model average
//     (a running sum of the averaged class probabilities per test point).
//
// Memory is thus O(replicas × MaxTracePoints + groups × (steps + test
// points × classes)), independent of how long the chains ran. A
// replica's files are all read and checked before anything of it enters
// its group's curves and model average; the learning-curve columns of one
// trajectory are kept meanwhile up to 8 MiB (a longer trajectory is read
// twice instead).
//
// # Damaged files
//
// Only a missing or malformed sweep.json stops LoadRun. A replica whose
// files are unreadable, truncated or malformed (rundir's errors: a
// *rundir.FileError, wrapping rundir.ErrTruncated for a file cut off) is
// skipped: StatusUnreadable, with the file and the reason in
// Replica.File and Replica.Error and a line in Run.Warnings. A run
// directory left half written by an interrupted sweep loads with what it
// has.
//
// # Status
//
// A replica is done or diverged by its result.json; failed or cancelled by
// its failure.json (code "cancelled"), or by the coordinator's
// summary.json when it has no failure.json; incomplete when listed in
// sweep.json with none of these; unreadable when a file is damaged. Only
// done replicas enter any statistic; the others are counted per group
// (StatusCounts) and listed in Summary.Problems (failed and cancelled
// with their error code and message, diverged with the step they
// diverged at, unreadable with the damaged file), never averaged in.
//
// # Selection
//
// Every selection (the best replica, the best group, each method's
// representative group) uses result.json "best" on the validation loss, or
// on the training loss when some done replica has no validation split
// (Summary.ChosenBy says which). Test metrics are never used to choose.
//
// # Convergence diagnostics
//
// The loss traces of a group's done replicas are the chains. Each is cut to
// the shortest and its first half is discarded as burn-in. SplitRHat is the
// classic split R̂ (Gelman et al., Bayesian Data Analysis, 3rd ed., §11.4);
// RankRHat is the rank-normalized split R̂ of Vehtari, Gelman, Simpson,
// Carpenter and Bürkner (2021), the maximum of the bulk and tail (folded)
// versions; ESS is the bulk effective sample size of the same paper, with
// Geyer's initial monotone sequence on the combined autocorrelation, as
// computed by Stan and ArviZ.
//
// # Undefined values
//
// Statistics that are undefined for the data at hand (the standard
// deviation of a single value, R̂ of a constant trace, ...) are NaN; they are
// written as null in JSON and as "–" in Markdown and tables.
package ensemble
