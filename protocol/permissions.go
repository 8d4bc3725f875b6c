package protocol

// This file derives, from the names in names.go, the NATS subjects each kind
// of Heatbath client may use. The embedded server (internal/embedded) turns
// them into nats-server user permissions; a deployment's nats-server
// configuration grants the same lists.
//
// What NATS permissions cannot express, and so is not enforced here:
//   - A purge request's subject filter: a worker may purge the object store
//     stream (an overwritten checkpoint's old chunks are purged), and so any
//     object in it, not only its own checkpoint's chunks.
//   - Whose record or event it is: every worker shares the credentials, so a
//     worker may update any replica record and publish any event.
//   - Durable against ephemeral consumers: a client allowed to create the
//     ordered consumers it reads with may also create a durable one there,
//     and one allowed to pull from them may pull from any consumer of that
//     stream (for an observer: the collector's; unacknowledged, those events
//     are delivered to the collector again after its ack wait).

// Role names a kind of client, and so the permissions it gets.
type Role string

// The roles.
const (
	// RoleCoordinator creates and manages the streams, buckets and
	// consumers: every subject of the account.
	RoleCoordinator Role = "coordinator"
	// RoleWorker pulls and acknowledges tasks, reads and updates replica
	// records, publishes events and writes checkpoints and replica files.
	// It cannot purge TASKS, EVENTS or a KV bucket, delete or edit any
	// stream, or publish a task.
	RoleWorker Role = "worker"
	// RoleObserver reads records, events and stream and consumer
	// information (status, list, the live view) and writes nothing but the
	// ephemeral consumers it reads with (which it may delete, except on
	// EVENTS, where the collector's durable consumer lives).
	RoleObserver Role = "observer"
)

// Permissions lists the subjects a client may publish to and subscribe to,
// with NATS wildcards. A nil Publish or Subscribe list allows every subject.
// PublishDeny states the dangerous subjects again as denials (a denial wins
// over an allow), so that a wider allow added later cannot open them.
type Permissions struct {
	Publish     []string
	PublishDeny []string
	Subscribe   []string
}

// The JetStream API and its subject prefixes (nats.go's and nats-server's
// names for them in comments).
const (
	jsAPI = "$JS.API."
	// jsAccountInfo is the account information request (JSApiAccountInfo).
	jsAccountInfo = jsAPI + "INFO"
	// jsStreamNames lists stream names (JSApiStreams); the legacy
	// subscribe of the object store looks a stream up by subject with it.
	jsStreamNames      = jsAPI + "STREAM.NAMES"
	jsStreamList       = jsAPI + "STREAM.LIST"
	jsStreamInfo       = jsAPI + "STREAM.INFO."       // + stream
	jsStreamPurge      = jsAPI + "STREAM.PURGE."      // + stream
	jsStreamCreate     = jsAPI + "STREAM.CREATE."     // + stream
	jsStreamUpdate     = jsAPI + "STREAM.UPDATE."     // + stream
	jsStreamDelete     = jsAPI + "STREAM.DELETE."     // + stream
	jsStreamMsgDelete  = jsAPI + "STREAM.MSG.DELETE." // + stream
	jsDurableCreate    = jsAPI + "CONSUMER.DURABLE.CREATE."
	jsStreamMsgGet     = jsAPI + "STREAM.MSG.GET."    // + stream (leader read)
	jsDirectGet        = jsAPI + "DIRECT.GET."        // + stream [+ "." + subject]
	jsConsumerCreate   = jsAPI + "CONSUMER.CREATE."   // + stream [+ "." + name [+ "." + filter]]
	jsConsumerInfo     = jsAPI + "CONSUMER.INFO."     // + stream + "." + consumer
	jsConsumerDelete   = jsAPI + "CONSUMER.DELETE."   // + stream + "." + consumer
	jsConsumerNames    = jsAPI + "CONSUMER.NAMES."    // + stream
	jsConsumerList     = jsAPI + "CONSUMER.LIST."     // + stream
	jsConsumerMsgNext  = jsAPI + "CONSUMER.MSG.NEXT." // + stream + "." + consumer
	jsAckPrefix        = "$JS.ACK."                   // + stream + "." + consumer + ...
	jsFlowControl      = "$JS.FC."                    // + stream + ...: flow control replies of push consumers
	kvSubjectPrefix    = "$KV."                       // + bucket + "." + key
	objSubjectPrefix   = "$O."                        // + bucket + ".C." / ".M." ...
	kvStreamPrefix     = "KV_"
	objStreamPrefix    = "OBJ_"
	inboxSubjects      = "_INBOX.>"
	controlSubjects    = Prefix + ".ctl.>"
	everySubject       = Prefix + ".>"
	permAnyToken       = "*"
	permAnyTokens      = ">"
	permSubjectsJoiner = "."
)

// PermissionsFor returns the subjects a role may use. pools restricts a
// worker to the task consumers of those pools; none allows every pool's.
func PermissionsFor(role Role, pools ...string) (Permissions, error) {
	switch role {
	case RoleCoordinator:
		return Permissions{}, nil
	case RoleWorker:
		return workerPermissions(pools)
	case RoleObserver:
		return observerPermissions(), nil
	}
	return Permissions{}, invalidf("role", "%s is not one of coordinator, worker, observer", quote(string(role)))
}

func permJoin(parts ...string) string {
	s := parts[0]
	for _, p := range parts[1:] {
		s += permSubjectsJoiner + p
	}
	return s
}

// readStream returns the subjects that read a stream's messages and
// information by request: stream info, direct gets (by sequence or by last
// subject) and leader reads.
func readStream(stream string) []string {
	return []string{
		jsStreamInfo + stream,
		jsDirectGet + stream,
		permJoin(jsDirectGet+stream, permAnyTokens),
		jsStreamMsgGet + stream,
	}
}

// orderedConsumers returns the subjects a client needs to read a stream
// with ordered consumers, push (the object store's and KV watches) or pull
// ones: create them (ephemeral create, or named with a filter), read their
// information, pull from them and answer flow control.
func orderedConsumers(stream string) []string {
	return []string{
		jsConsumerCreate + stream,
		permJoin(jsConsumerCreate+stream, permAnyTokens),
		permJoin(jsConsumerInfo+stream, permAnyToken),
		permJoin(jsConsumerMsgNext+stream, permAnyToken),
		permJoin(jsFlowControl+stream, permAnyTokens),
	}
}

func workerPermissions(pools []string) (Permissions, error) {
	consumers := []string{permAnyToken}
	if len(pools) > 0 {
		consumers = consumers[:0]
		for _, p := range pools {
			c, err := WorkerConsumer(p)
			if err != nil {
				return Permissions{}, err
			}
			consumers = append(consumers, c)
		}
	}
	replicas := kvStreamPrefix + BucketReplicas
	sweeps := kvStreamPrefix + BucketSweeps
	objects := objStreamPrefix + BucketArtifacts
	pub := []string{
		jsAccountInfo,
		jsStreamInfo + StreamTasks,
		jsStreamInfo + StreamEvents,
	}
	// Tasks: bind to the pool's consumer, pull and acknowledge (ack, nak,
	// in progress, term all publish to the delivery's $JS.ACK reply).
	for _, c := range consumers {
		pub = append(pub,
			permJoin(jsConsumerInfo+StreamTasks, c),
			permJoin(jsConsumerMsgNext+StreamTasks, c),
			permJoin(jsAckPrefix+StreamTasks, c, permAnyTokens))
	}
	// Replica records: read (direct, or from the leader) and write by
	// compare-and-set (a publish to the key's subject); sweep records: read.
	pub = append(pub, readStream(replicas)...)
	pub = append(pub, permJoin(kvSubjectPrefix+BucketReplicas, permAnyTokens))
	pub = append(pub, readStream(sweeps)...)
	// Events: publish.
	pub = append(pub, EventSubjects)
	// Checkpoints, replica files and data: write chunks and metadata, purge
	// an overwritten object's old chunks, read back with ordered consumers.
	pub = append(pub, readStream(objects)...)
	pub = append(pub,
		permJoin(objSubjectPrefix+BucketArtifacts, permAnyTokens),
		jsStreamPurge+objects,
		permJoin(jsConsumerDelete+objects, permAnyToken))
	pub = append(pub, orderedConsumers(objects)...)
	deny := append(changeStreams(),
		TaskSubjects, controlSubjects,
		jsStreamPurge+StreamTasks, jsStreamPurge+StreamEvents, jsStreamPurge+replicas, jsStreamPurge+sweeps,
		jsConsumerCreate+StreamTasks, permJoin(jsConsumerCreate+StreamTasks, permAnyTokens),
		permJoin(jsConsumerDelete+StreamTasks, permAnyTokens),
		permJoin(kvSubjectPrefix+BucketSweeps, permAnyTokens))
	return Permissions{Publish: pub, PublishDeny: deny, Subscribe: []string{inboxSubjects, CancelFilter, PruneFilter}}, nil
}

// changeStreams returns the subjects that create, edit or delete a stream,
// delete one of its messages or create a durable consumer the legacy way:
// no client but the coordinator may.
func changeStreams() []string {
	return []string{
		jsStreamCreate + permAnyTokens,
		jsStreamUpdate + permAnyTokens,
		jsStreamDelete + permAnyTokens,
		jsStreamMsgDelete + permAnyTokens,
		jsDurableCreate + permAnyTokens,
	}
}

func observerPermissions() Permissions {
	pub := []string{jsAccountInfo, jsStreamNames, jsStreamList}
	for _, s := range []string{StreamTasks, StreamEvents, kvStreamPrefix + BucketSweeps, kvStreamPrefix + BucketReplicas, objStreamPrefix + BucketArtifacts} {
		pub = append(pub, readStream(s)...)
		pub = append(pub, jsConsumerNames+s, jsConsumerList+s)
		if s == StreamTasks {
			// The backlog: consumer information, never a pull.
			pub = append(pub, permJoin(jsConsumerInfo+s, permAnyToken))
			continue
		}
		pub = append(pub, orderedConsumers(s)...)
		if s != StreamEvents {
			// Ordered consumers delete themselves when they stop or
			// reset; on the KV and object streams only such ephemeral
			// consumers exist. On EVENTS the delete is refused (it
			// could delete the collector's durable consumer): the
			// server removes an ordered consumer once it is inactive,
			// and the client is told of the refusal.
			pub = append(pub, permJoin(jsConsumerDelete+s, permAnyToken))
		}
	}
	deny := append(changeStreams(),
		everySubject, kvSubjectPrefix+permAnyTokens, objSubjectPrefix+permAnyTokens, jsAckPrefix+permAnyTokens,
		jsStreamPurge+permAnyTokens,
		jsConsumerCreate+StreamTasks, permJoin(jsConsumerCreate+StreamTasks, permAnyTokens),
		permJoin(jsConsumerMsgNext+StreamTasks, permAnyTokens),
		permJoin(jsConsumerDelete+StreamEvents, permAnyTokens), permJoin(jsConsumerDelete+StreamTasks, permAnyTokens))
	return Permissions{Publish: pub, PublishDeny: deny, Subscribe: []string{inboxSubjects}}
}
