package protocol

import (
	"strings"
	"testing"
)

// subjectMatches reports whether a NATS subject matches a pattern with the
// wildcards * (one token) and > (one or more trailing tokens).
func subjectMatches(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}

func matchesAny(patterns []string, subject string) bool {
	for _, p := range patterns {
		if subjectMatches(p, subject) {
			return true
		}
	}
	return false
}

// TestRolePermissions: the subjects a worker or an observer must never
// publish to are outside its allow list and inside its deny list (so that a
// wider allow cannot open them); the subjects each needs are allowed and
// not denied; the coordinator is unrestricted; an unknown role or pool is
// an error.
func TestRolePermissions(t *testing.T) {
	task, _ := TaskSubject("cpu", "s1", "r1")
	ev, _ := EventSubject("s1", "r1", EventResult)
	never := map[Role][]string{
		RoleWorker: {
			"$JS.API.STREAM.DELETE.TASKS", "$JS.API.STREAM.DELETE.OBJ_hb_artifacts", "$JS.API.STREAM.UPDATE.TASKS",
			"$JS.API.STREAM.CREATE.X", "$JS.API.STREAM.PURGE.TASKS", "$JS.API.STREAM.PURGE.EVENTS",
			"$JS.API.STREAM.PURGE.KV_hb_replicas", "$JS.API.STREAM.PURGE.KV_hb_sweeps", "$JS.API.STREAM.MSG.DELETE.EVENTS",
			"$JS.API.CONSUMER.DELETE.TASKS.workers-cpu", "$JS.API.CONSUMER.CREATE.TASKS.thief.hb.task.cpu.>",
			"$JS.API.CONSUMER.DURABLE.CREATE.TASKS.thief", "$KV.hb_sweeps.s1", task, "hb.ctl.cancel.s1",
		},
		RoleObserver: {
			"$JS.API.STREAM.DELETE.EVENTS", "$JS.API.STREAM.PURGE.EVENTS", "$JS.API.STREAM.UPDATE.TASKS",
			"$JS.API.CONSUMER.MSG.NEXT.TASKS.workers-cpu", "$JS.API.CONSUMER.DELETE.EVENTS.collect-s1",
			"$JS.API.CONSUMER.CREATE.TASKS.x.hb.task.cpu.>", "$KV.hb_replicas.s1.r1", "$O.hb_artifacts.C.x",
			"$JS.ACK.TASKS.workers-cpu.1.2.3.4.5", task, ev,
		},
	}
	needs := map[Role][]string{
		RoleWorker: {
			"$JS.API.CONSUMER.MSG.NEXT.TASKS.workers-cpu", "$JS.ACK.TASKS.workers-cpu.1.2.3.4.5",
			"$JS.API.DIRECT.GET.KV_hb_replicas.$KV.hb_replicas.s1.r1", "$KV.hb_replicas.s1.r1",
			"$JS.API.STREAM.MSG.GET.KV_hb_replicas", ev, "$O.hb_artifacts.C.x", "$JS.API.STREAM.PURGE.OBJ_hb_artifacts",
		},
		RoleObserver: {
			"$JS.API.STREAM.INFO.TASKS", "$JS.API.CONSUMER.INFO.TASKS.workers-cpu",
			"$JS.API.DIRECT.GET.KV_hb_sweeps.$KV.hb_sweeps.s1", "$JS.API.CONSUMER.CREATE.EVENTS.x.hb.evt.s1.>",
			"$JS.API.CONSUMER.MSG.NEXT.EVENTS.x",
		},
	}
	for role, subjects := range never {
		p, err := PermissionsFor(role, "cpu")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subjects {
			if matchesAny(p.Publish, s) && !matchesAny(p.PublishDeny, s) {
				t.Errorf("%s may publish to %s", role, s)
			}
			if !matchesAny(p.PublishDeny, s) {
				t.Errorf("%s: %s is not denied explicitly", role, s)
			}
		}
		for _, s := range needs[role] {
			if !matchesAny(p.Publish, s) || matchesAny(p.PublishDeny, s) {
				t.Errorf("%s may not publish to %s", role, s)
			}
		}
	}
	p, _ := PermissionsFor(RoleWorker, "gpu")
	if matchesAny(p.Publish, "$JS.API.CONSUMER.MSG.NEXT.TASKS.workers-cpu") {
		t.Error("a gpu worker may pull cpu tasks")
	}
	if p, _ := PermissionsFor(RoleCoordinator); p.Publish != nil || p.Subscribe != nil || p.PublishDeny != nil {
		t.Errorf("coordinator restricted: %+v", p)
	}
	if _, err := PermissionsFor("admin"); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := PermissionsFor(RoleWorker, "a.b"); err == nil {
		t.Error("invalid pool accepted")
	}
}

// TestPermissionNamesAgreeWithNames: the stream and subject prefixes the
// permissions are built from name what names.go names.
func TestPermissionNamesAgreeWithNames(t *testing.T) {
	for _, b := range []string{BucketReplicas, BucketSweeps} {
		if s, err := KVStream(b); err != nil || s != kvStreamPrefix+b {
			t.Errorf("KVStream(%s) = %q, %v; permissions use %q", b, s, err, kvStreamPrefix+b)
		}
		key, _ := ReplicaKey("s1", "r1")
		if s, err := KVKeySubject(b, key); err != nil || !subjectMatches(permJoin(kvSubjectPrefix+b, permAnyTokens), s) {
			t.Errorf("KVKeySubject(%s) = %q, %v; permissions use %q", b, s, err, kvSubjectPrefix+b)
		}
	}
	for _, st := range []string{StreamTasks, StreamEvents, kvStreamPrefix + BucketReplicas} {
		if s, err := StreamMsgGetSubject(st); err != nil || s != jsStreamMsgGet+st {
			t.Errorf("StreamMsgGetSubject(%s) = %q, %v; permissions use %q", st, s, err, jsStreamMsgGet+st)
		}
	}
}
