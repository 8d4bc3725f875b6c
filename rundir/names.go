package rundir

import "path/filepath"

// File and folder names of a run directory (see the package documentation).
const (
	FileSpec     = "spec.yaml"
	FileSweep    = "sweep.json"
	FileTable    = "replicas.csv"
	FileSummary  = "summary.json"
	DirReplicas  = "replicas"
	DirReport    = "report"
	DirJetStream = ".jetstream"
)

// FileLock is the lock file at the top of a run directory. Its content, while
// a writer holds it, is that writer's Holder as JSON; it is empty otherwise.
// The file itself is never deleted: removing a lock file races with a
// process that opened it just before and would then lock a file nobody
// else can see.
const FileLock = ".lock"

// File names of a replica directory (see the package documentation).
const (
	FileReplica     = "replica.json"
	FileTrajectory  = "trajectory.csv"
	FileResult      = "result.json"
	FileFailure     = "failure.json"
	FileParams      = "params.safetensors"
	FileBestParams  = "best_params.safetensors"
	FileInitParams  = "init_params.safetensors"
	FilePredictions = "predictions.json"
	FileGrid        = "grid.json"
	FileInterp      = "interp.csv"

	// FileLegacyParams and FileLegacyInitParams are the parameter files of
	// run directories written before the safetensors files (format
	// HBPARAM1, see DecodeLegacyParams); they are read, never written.
	FileLegacyParams     = "params.bin"
	FileLegacyInitParams = "init_params.bin"
)

// File names of the report folder (DirReport), written by `heatbath
// report`: the statistics (docs/summary.md), their tables, and the page
// with the charts.
const (
	FileReportSummary  = "summary.json"
	FileReportMarkdown = "summary.md"
	FileReportHTML     = "report.html"
)

// ReplicaDir returns the directory of replica id in the run directory run.
func ReplicaDir(run, id string) string { return filepath.Join(run, DirReplicas, id) }

// ReportDir returns the report folder of the run directory run.
func ReportDir(run string) string { return filepath.Join(run, DirReport) }
