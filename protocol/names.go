package protocol

import (
	"strconv"
	"strings"
)

// Prefix is the first token of every subject Heatbath uses.
const Prefix = "hb"

// Names of the JetStream streams, KV buckets and object store.
const (
	// StreamTasks is the work-queue stream of tasks; it holds TaskSubjects.
	StreamTasks = "TASKS"
	// StreamEvents is the limits-retention stream of events; it holds
	// EventSubjects.
	StreamEvents = "EVENTS"
	// BucketSweeps is the KV bucket of SweepRecords, keyed by SweepKey.
	BucketSweeps = "hb_sweeps"
	// BucketReplicas is the KV bucket of ReplicaStates, keyed by ReplicaKey.
	BucketReplicas = "hb_replicas"
	// BucketArtifacts is the object store of checkpoints and replica files,
	// named by CheckpointObject and ArtifactObject.
	BucketArtifacts = "hb_artifacts"
)

// Subject wildcards for stream configurations and subscriptions.
const (
	// TaskSubjects matches every task subject (the subjects of StreamTasks).
	TaskSubjects = Prefix + ".task.>"
	// EventSubjects matches every event subject (the subjects of
	// StreamEvents).
	EventSubjects = Prefix + ".evt.>"
	// CancelFilter matches CancelSubject of every sweep.
	CancelFilter = Prefix + ".ctl.cancel.*"
	// PruneFilter matches PruneSubject of every replica.
	PruneFilter = Prefix + ".ctl.prune.*.*"
)

// MaxTokenLen is the maximum length of an id (pool, sweep, replica, worker,
// control verb, spec hash).
const MaxTokenLen = 128

// ValidToken reports whether s is a valid id: 1 to MaxTokenLen characters
// from [A-Za-z0-9_-]. Valid ids are safe as NATS subject tokens, KV key parts,
// object name segments and file names.
func ValidToken(s string) bool {
	if len(s) == 0 || len(s) > MaxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte(s[i]) {
			return false
		}
	}
	return true
}

func tokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// maxFileLen is the maximum length of a replica file name.
const maxFileLen = 128

// validFileName reports whether s is an acceptable file name in a replica
// directory: 1 to maxFileLen characters from [A-Za-z0-9._-], not starting
// with a dot.
func validFileName(s string) bool {
	if len(s) == 0 || len(s) > maxFileLen || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenByte(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// maxObjectNameLen is the maximum length of an object name.
const maxObjectNameLen = 1024

// validObjectName reports whether s is an acceptable object name: segments
// separated by "/", each a valid file name (ids are valid file names).
func validObjectName(s string) bool {
	if len(s) == 0 || len(s) > maxObjectNameLen {
		return false
	}
	for seg := range strings.SplitSeq(s, "/") {
		if !validFileName(seg) {
			return false
		}
	}
	return true
}

// checkTokens returns an error of code CodeInvalid naming the first of the
// (name, value) pairs whose value is not a valid token. what says what was
// being built ("task subject").
func checkTokens(what string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !ValidToken(pairs[i+1]) {
			return invalidf(what, "%s %s is not a valid token", pairs[i], quote(pairs[i+1]))
		}
	}
	return nil
}

// TaskSubject returns the subject of a replica's task,
// "hb.task.<pool>.<sweep>.<replica>". Each argument must be a valid token.
func TaskSubject(pool, sweep, replica string) (string, error) {
	if err := checkTokens("task subject", "pool", pool, "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	return Prefix + ".task." + pool + "." + sweep + "." + replica, nil
}

// TaskFilter returns the filter subject of a pool's consumer,
// "hb.task.<pool>.>".
func TaskFilter(pool string) (string, error) {
	if err := checkTokens("task filter", "pool", pool); err != nil {
		return "", err
	}
	return Prefix + ".task." + pool + ".>", nil
}

// WorkerConsumer returns the name of the durable pull consumer that the
// workers of a pool share, "workers-<pool>".
func WorkerConsumer(pool string) (string, error) {
	if err := checkTokens("worker consumer", "pool", pool); err != nil {
		return "", err
	}
	return "workers-" + pool, nil
}

// ParseTaskSubject splits a subject made by TaskSubject.
func ParseTaskSubject(subject string) (pool, sweep, replica string, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[0] != Prefix || parts[1] != "task" {
		return "", "", "", invalidf("task subject", "%s is not of the form %s.task.<pool>.<sweep>.<replica>", quote(subject), Prefix)
	}
	if err := checkTokens("task subject", "pool", parts[2], "sweep", parts[3], "replica", parts[4]); err != nil {
		return "", "", "", err
	}
	return parts[2], parts[3], parts[4], nil
}

// EventKind is the last token of an event subject; it names the message type
// the event carries.
type EventKind string

// The event kinds.
const (
	EventProgress EventKind = "progress" // a Progress message
	EventTraj     EventKind = "traj"     // a TrajChunk message
	EventResult   EventKind = "result"   // a Result message
	EventFailure  EventKind = "failure"  // a Failure message
)

// Valid reports whether k is one of the defined event kinds.
func (k EventKind) Valid() bool {
	switch k {
	case EventProgress, EventTraj, EventResult, EventFailure:
		return true
	}
	return false
}

// EventSubject returns the subject of a replica's event of the given kind,
// "hb.evt.<sweep>.<replica>.<kind>".
func EventSubject(sweep, replica string, kind EventKind) (string, error) {
	if err := checkTokens("event subject", "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	if !kind.Valid() {
		return "", invalidf("event subject", "kind %s is not an event kind", quote(string(kind)))
	}
	return Prefix + ".evt." + sweep + "." + replica + "." + string(kind), nil
}

// EventFilter returns the subject filter of every event of a sweep,
// "hb.evt.<sweep>.>".
func EventFilter(sweep string) (string, error) {
	if err := checkTokens("event filter", "sweep", sweep); err != nil {
		return "", err
	}
	return Prefix + ".evt." + sweep + ".>", nil
}

// ReplicaEventFilter returns the subject filter of every event of one
// replica, "hb.evt.<sweep>.<replica>.>".
func ReplicaEventFilter(sweep, replica string) (string, error) {
	if err := checkTokens("event filter", "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	return Prefix + ".evt." + sweep + "." + replica + ".>", nil
}

// ProgressFilter returns the subject filter of the progress events of every
// replica of a sweep, "hb.evt.<sweep>.*.progress".
func ProgressFilter(sweep string) (string, error) {
	if err := checkTokens("progress filter", "sweep", sweep); err != nil {
		return "", err
	}
	return Prefix + ".evt." + sweep + ".*." + string(EventProgress), nil
}

// ParseEventSubject splits a subject made by EventSubject.
func ParseEventSubject(subject string) (sweep, replica string, kind EventKind, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[0] != Prefix || parts[1] != "evt" {
		return "", "", "", invalidf("event subject", "%s is not of the form %s.evt.<sweep>.<replica>.<kind>", quote(subject), Prefix)
	}
	if err := checkTokens("event subject", "sweep", parts[2], "replica", parts[3]); err != nil {
		return "", "", "", err
	}
	if k := EventKind(parts[4]); !k.Valid() {
		return "", "", "", invalidf("event subject", "kind %s is not an event kind", quote(parts[4]))
	}
	return parts[2], parts[3], EventKind(parts[4]), nil
}

// ControlSubject returns the subject of a coordinator control request,
// "hb.ctl.<verb>" (request-reply, e.g. verb "submit" or "status").
func ControlSubject(verb string) (string, error) {
	if err := checkTokens("control subject", "verb", verb); err != nil {
		return "", err
	}
	return Prefix + ".ctl." + verb, nil
}

// CancelSubject returns the broadcast subject that tells workers to abandon
// a sweep's replicas, "hb.ctl.cancel.<sweep>". CancelFilter matches them all.
func CancelSubject(sweep string) (string, error) {
	if err := checkTokens("cancel subject", "sweep", sweep); err != nil {
		return "", err
	}
	return Prefix + ".ctl.cancel." + sweep, nil
}

// PruneSubject returns the broadcast subject that tells the worker running
// a replica that it was pruned, "hb.ctl.prune.<sweep>.<replica>".
func PruneSubject(sweep, replica string) (string, error) {
	if err := checkTokens("prune subject", "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	return Prefix + ".ctl.prune." + sweep + "." + replica, nil
}

// ParsePruneSubject splits a subject made by PruneSubject.
func ParsePruneSubject(subject string) (sweep, replica string, err error) {
	rest, ok := strings.CutPrefix(subject, Prefix+".ctl.prune.")
	if ok {
		sweep, replica, ok = strings.Cut(rest, ".")
	}
	if !ok {
		return "", "", invalidf("prune subject", "%s is not of the form %s.ctl.prune.<sweep>.<replica>", quote(subject), Prefix)
	}
	if err := checkTokens("prune subject", "sweep", sweep, "replica", replica); err != nil {
		return "", "", err
	}
	return sweep, replica, nil
}

// SweepKey returns the key of a sweep's SweepRecord in BucketSweeps: the
// sweep id itself.
func SweepKey(sweep string) (string, error) {
	if err := checkTokens("sweep key", "sweep", sweep); err != nil {
		return "", err
	}
	return sweep, nil
}

// ReplicaKey returns the key of a replica's ReplicaState in BucketReplicas,
// "<sweep>.<replica>".
func ReplicaKey(sweep, replica string) (string, error) {
	if err := checkTokens("replica key", "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	return sweep + "." + replica, nil
}

// ReplicaKeyFilter returns the KV watch filter of a sweep's replicas,
// "<sweep>.>".
func ReplicaKeyFilter(sweep string) (string, error) {
	if err := checkTokens("replica key filter", "sweep", sweep); err != nil {
		return "", err
	}
	return sweep + ".>", nil
}

// ParseReplicaKey splits a key made by ReplicaKey.
func ParseReplicaKey(key string) (sweep, replica string, err error) {
	sweep, replica, ok := strings.Cut(key, ".")
	if !ok {
		return "", "", invalidf("replica key", "%s is not of the form <sweep>.<replica>", quote(key))
	}
	if err := checkTokens("replica key", "sweep", sweep, "replica", replica); err != nil {
		return "", "", err
	}
	return sweep, replica, nil
}

// CheckpointObject returns the name of a replica's rolling checkpoint in
// BucketArtifacts, "<sweep>/<replica>/ckpt" (overwritten by every
// checkpoint).
func CheckpointObject(sweep, replica string) (string, error) {
	if err := checkTokens("checkpoint object", "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	return sweep + "/" + replica + "/ckpt", nil
}

// ArtifactObject returns the name of a replica file in BucketArtifacts,
// "<sweep>/<replica>/files/<file>". file is the name the object takes in the
// replica directory (e.g. "params.safetensors"): 1 to 128 characters from
// [A-Za-z0-9._-], not starting with a dot. The "files/" level keeps artifact
// names apart from the checkpoint whatever the file is called.
func ArtifactObject(sweep, replica, file string) (string, error) {
	if err := checkTokens("artifact object", "sweep", sweep, "replica", replica); err != nil {
		return "", err
	}
	if !validFileName(file) {
		return "", invalidf("artifact object", "file %s is not a valid file name", quote(file))
	}
	return sweep + "/" + replica + "/files/" + file, nil
}

// MsgID returns the Nats-Msg-Id header of a message, used by JetStream to
// drop duplicates: "<sweep>/<replica>/<attempt>/<kind>/<seq>". kind is an
// EventKind or "task"; seq orders the messages of one kind within an attempt
// (the chunk number of a TrajChunk, the step of a Progress, the generation of
// a task). MsgID does not validate its arguments: given valid tokens, which
// contain no "/", distinct arguments give distinct ids.
func MsgID(sweep, replica string, attempt int, kind string, seq int64) string {
	return sweep + "/" + replica + "/" + strconv.Itoa(attempt) + "/" + kind + "/" + strconv.FormatInt(seq, 10)
}

// SweepTaskFilter returns the filter subject of a sweep's tasks in a pool,
// "hb.task.<pool>.<sweep>.>" (cancel purges them).
func SweepTaskFilter(pool, sweep string) (string, error) {
	if err := checkTokens("sweep task filter", "pool", pool, "sweep", sweep); err != nil {
		return "", err
	}
	return Prefix + ".task." + pool + "." + sweep + ".>", nil
}

// CollectorConsumer returns the name of the durable consumer through which
// coordinators collect a sweep's events, "collect-<sweep>".
func CollectorConsumer(sweep string) (string, error) {
	if err := checkTokens("collector consumer", "sweep", sweep); err != nil {
		return "", err
	}
	return "collect-" + sweep, nil
}

// KVStream returns the name of the JetStream stream that holds a KV
// bucket, "KV_<bucket>" (the bucket's name is a valid token).
func KVStream(bucket string) (string, error) {
	if err := checkTokens("kv stream", "bucket", bucket); err != nil {
		return "", err
	}
	return kvStreamPrefix + bucket, nil
}

// KVKeySubject returns the subject under which a KV bucket stores a key,
// "$KV.<bucket>.<key>". key is a KV key such as ReplicaKey returns: valid
// tokens joined by dots.
func KVKeySubject(bucket, key string) (string, error) {
	if err := checkTokens("kv key subject", "bucket", bucket); err != nil {
		return "", err
	}
	if key == "" {
		return "", invalidf("kv key subject", "key is empty")
	}
	for part := range strings.SplitSeq(key, ".") {
		if err := checkTokens("kv key subject", "key part", part); err != nil {
			return "", err
		}
	}
	return kvSubjectPrefix + bucket + "." + key, nil
}

// StreamMsgGetSubject returns the JetStream API subject of a message get
// that the stream's leader answers, "$JS.API.STREAM.MSG.GET.<stream>". KV
// reads use direct gets ("$JS.API.DIRECT.GET"), which any replica of a
// clustered stream may answer; this request is how a caller reads the
// latest value.
func StreamMsgGetSubject(stream string) (string, error) {
	if err := checkTokens("stream message get subject", "stream", stream); err != nil {
		return "", err
	}
	return jsStreamMsgGet + stream, nil
}

// MaxDeliveriesAdvisory returns the subject of the advisory a server
// publishes when a message of a stream's consumer runs out of deliveries,
// "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>".
func MaxDeliveriesAdvisory(stream, consumer string) (string, error) {
	if err := checkTokens("max deliveries advisory", "stream", stream, "consumer", consumer); err != nil {
		return "", err
	}
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer, nil
}

// ValidSHA256 reports whether s is a hex SHA-256 digest: 64 lowercase hex
// digits.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// DataObject returns the name, in BucketArtifacts, of a data file stored
// with a sweep: "data/<sha256 of its contents>". Sweeps that use the same
// file share the object. (A sweep id is never "data" alone: ids from specs
// are "<name>-<8 hex>".)
func DataObject(sha256 string) (string, error) {
	if !ValidSHA256(sha256) {
		return "", invalidf("data object", "hash %s is not 64 lowercase hex digits", quote(sha256))
	}
	return "data/" + sha256, nil
}
