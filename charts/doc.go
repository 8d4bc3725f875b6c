// Package charts draws the charts of a Heatbath sweep and writes a
// self-contained HTML report (docs/report.md).
//
// # Data and drawing
//
// Every chart is made in two steps. An exported pure function computes the
// chart's data from the package ensemble statistics or from the replica
// files of docs/formats.md (LearningCurveData, LadderData, BoxData,
// EquipartitionData, XiData, DecisionBoundaryData, WeightHistData,
// InterpData, BetweenData); a Draw… function draws that data with
// gonum/plot into a Figure, which encodes as PNG or SVG. Tests check the
// data, not pixels: the plotted means and bands are the numbers ensemble
// computed.
//
// Render is what the command line calls: it computes every chart of a run,
// writes each as PNG (and SVG when small) into the output directory, and
// writes report.html with WriteReport.
//
// # Bounds
//
// The cost of a report does not grow with the number of replicas beyond
// reading each replica's summary once (ensemble.LoadRun): learning curves
// come from ensemble's per-group curves, thinned to MaxSeriesPoints points;
// files of individual replicas (grid.json, params.safetensors or
// params.bin, interp.csv, trajectory.csv; read through package rundir) are read only for each method's best replica and for at
// most MaxChainsRead replicas of each method's representative group.
//
// # Representative groups
//
// A sweep may hold many groups (a τ ladder × methods × step sizes). Charts
// that draw one line per group show every group when there are at most
// MaxLines of them, and otherwise each method's representative group: its
// group of lowest mean selection metric best.<ChosenBy> over done replicas
// (first by name on ties), the rule ensemble uses for its comparisons.
// Selection never looks at test metrics.
//
// # Errors
//
// A damaged replica file (unreadable, truncated, malformed, or
// inconsistent with the rest of its group) never stops a report: the
// functions that read replica files leave that replica out of the chart
// and return a warning naming the file (and the line for CSV) and the
// reason; Render adds them to the warnings of summary.json, summary.md and
// report.html. Functions that draw recover from panics of the plotting
// library and return them as errors.
package charts
