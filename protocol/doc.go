// Package protocol is the wire contract between the Heatbath coordinator, its
// workers and the CLI: the NATS subjects and JetStream names they share, the
// JSON messages and KV records they exchange, the replica state machine, and
// the error codes that cross process boundaries.
//
// The package imports only the standard library, does no I/O and no
// logging. Every error its functions return is an *Error with a stable Code
// (the JSON methods of TrajChunk, which encoding/json calls, excepted).
//
// # Versioning
//
// Every message and record is a JSON object with an integer field "v", the
// protocol Version (2), except that a Result with inline files is followed
// by their raw contents (see Result frames below). A decoder first reads "v"
// alone; a message without it, or whose "v" is not the integer Version, is
// rejected with CodeVersion, for example
//
//	protocol: message version 1, this build speaks version 2
//
// so that no build ever misreads a message of another version. Only then is
// the message decoded, strictly: unknown fields, values of the wrong type and
// anything after the object are CodeMalformed, as is input larger than
// MaxMessageSize. Last, Validate checks the values; its errors are
// CodeInvalid and name the field and the value:
//
//	protocol: task: replica "a b" is not a valid token
//
// Any change that an older decoder would reject or misread (a new field, a
// changed meaning) bumps Version. Encode sets "v" and validates before
// encoding, so that what one build encodes another build of the same version
// decodes. Decoding normalizes (empty arrays and objects become nil, times
// become UTC, raw JSON is compacted), so that decoding the encoding of a
// decoded message gives a deeply equal message.
//
// # Names
//
// Ids (pool, sweep, replica, worker, control verb, spec hash) are tokens:
// 1 to 128 characters from [A-Za-z0-9_-] (ValidToken). The functions that
// build names refuse an invalid token with an error rather than build a
// malformed subject or key.
//
//	what                          name                                      built by
//	task (StreamTasks)            hb.task.<pool>.<sweep>.<replica>          TaskSubject
//	pool consumer filter          hb.task.<pool>.>                          TaskFilter
//	pool consumer (durable)       workers-<pool>                            WorkerConsumer
//	event (StreamEvents)          hb.evt.<sweep>.<replica>.<kind>           EventSubject
//	events of a sweep             hb.evt.<sweep>.>                          EventFilter
//	events of a replica           hb.evt.<sweep>.<replica>.>                ReplicaEventFilter
//	control request               hb.ctl.<verb>                             ControlSubject
//	cancel broadcast              hb.ctl.cancel.<sweep>                     CancelSubject
//	prune broadcast               hb.ctl.prune.<sweep>.<replica>            PruneSubject
//	sweep record (hb_sweeps)      <sweep>                                   SweepKey
//	replica record (hb_replicas)  <sweep>.<replica>                         ReplicaKey
//	prune decision (hb_replicas)  <sweep>.<replica>.prune<milestone>        PruneKey
//	checkpoint (hb_artifacts)     <sweep>/<replica>/ckpt                    CheckpointObject
//	replica file (hb_artifacts)   <sweep>/<replica>/files/<file>            ArtifactObject
//	Nats-Msg-Id header            <sweep>/<replica>/<attempt>/<kind>/<seq>  MsgID
//
// StreamTasks holds TaskSubjects and StreamEvents holds EventSubjects.
// ParseTaskSubject, ParseEventSubject, ParseReplicaKey and ParsePruneSubject
// take names apart.
//
// # Messages
//
//	message       where                                     kind
//	Task          StreamTasks, one per replica              -
//	Progress      StreamEvents                              EventProgress
//	TrajChunk     StreamEvents                              EventTraj
//	Result        StreamEvents                              EventResult
//	Failure       StreamEvents                              EventFailure
//	ReplicaState  BucketReplicas, written by CAS only       -
//	SweepRecord   BucketSweeps                              -
//
// Events carry their attempt number; a collector ignores events of an attempt
// older than the replica's current one (CodeStale).
//
// # Result frames
//
// A Result carries the small files of a replica inline, as raw bytes after
// its JSON object rather than base64 inside it, so that neither side runs
// encoding/json over them. The JSON object lists each file's "file" and
// "size"; when there is at least one file, it is followed by one '\n' byte
// and the contents of the files, concatenated in order without separators:
//
//	{"v":2,...,"files":[{"file":"grid.json","size":69632},{"file":"params.safetensors","size":600}]}
//	<69632 bytes of grid.json><600 bytes of params.safetensors>
//
// (the line break after the object is that '\n' byte). A Result without
// files is plain JSON. DecodeResult finds the end of the object with a byte
// scan, decodes the object as strictly as any message, then requires the
// rest to be exactly '\n' and the sum of the sizes (white space only, when
// there are no files); anything else is CodeMalformed. The decoded files'
// Data are slices of the input. Version 1 carried the contents as base64
// "data" strings inside the object; such a message is rejected with
// CodeVersion.
//
// # Replica state machine
//
//	from        to                          when
//	pending     running                     a worker starts the next attempt
//	pending     failed, cancelled           the task can never start; cancel
//	running     running                     progress of the attempt, or a new attempt
//	                                        taking over from a dead worker
//	running     preempted                   the worker checkpointed and gave the task back
//	running     done                        a Result was recorded
//	running     failed, cancelled           deterministic error or deliveries exhausted; cancel
//	preempted   running                     a worker resumes from the checkpoint
//	preempted   failed, cancelled           deliveries exhausted; cancel
//	failed      pending                     resume
//	cancelled   pending                     resume
//
// CanTransition lists the allowed moves and CheckTransition adds the attempt
// fence: entering running in a new attempt increments ReplicaState.Attempt,
// every other move keeps it, and a write from an older attempt is CodeStale.
// done, failed and cancelled are Terminal; resume brings failed and cancelled
// back to pending; done is final.
//
// # Missing values
//
// JSON has no NaN or infinity. Messages whose numbers are all finite
// (Progress metrics, the configuration) leave a missing value out. A
// TrajChunk row, which must keep its columns, carries a missing value as
// NaN in Go and null on the wire, and the infinities as the strings "+Inf"
// and "-Inf"; see TrajChunk.
//
// # Errors
//
// Code values are stored and compared across builds: they are never
// reordered or renumbered, only appended. A Code is written by name
// ("invalid_config"). errors.Is(err, ErrVersion) (or ErrMalformed,
// ErrInvalid) matches any *Error of that code, and CodeOf extracts the code
// of an error chain. Deterministic tells which codes must not be retried.
package protocol
