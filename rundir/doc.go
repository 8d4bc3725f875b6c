// Package rundir owns the run directory: the files a sweep (or one chain of
// `heatbath train`) leaves on disk, their names, their schemas, and the only
// code that reads and writes them. Every other package goes through it.
//
// A run directory:
//
//	spec.yaml                  the canonical spec; its hash names the sweep
//	sweep.json                 Sweep: the sweep's identity and every replica it expands to
//	replicas.csv               one row per replica, for pandas (Table)
//	summary.json               Summary: the coordinator's account of every replica
//	replicas/<id>/             one replica directory per replica (below)
//	report/                    `heatbath report` output
//	.lock                      the writer's OS lock and identity (Lock)
//	.jetstream/                the embedded server's store (`heatbath run` only)
//
// A replica directory:
//
//	replica.json               protocol.ReplicaInfo: id, group, settings, seed, config
//	trajectory.csv             one row per evaluation (TrajectoryWriter, TrajectoryAppender, TrajectoryReader)
//	result.json                Result; written last: its presence means the other files are complete
//	failure.json               Failure, for a replica that failed (it has no result.json)
//	params.safetensors         final parameters (PyTorch names and layout)
//	best_params.safetensors    parameters at the best validation evaluation
//	init_params.safetensors    initial parameters
//	predictions.json           Predictions on the test set
//	grid.json                  Grid, for two-dimensional data
//	interp.csv                 loss along the line from the initial to the final parameters
//
// Directories written before the safetensors files existed hold params.bin and
// init_params.bin instead; ReadParams still reads them.
//
// Every whole-file write goes through WriteFile or WriteFiles: a temporary
// file in the same folder with a unique name, fsync of the file, rename, and
// fsync of the folder, so that a reader (or a crash) never sees a half-written
// file. The formats are documented in docs/formats.md.
//
// The package is pure: it imports no NATS, logging or CLI code.
package rundir
