package protocol

import (
	"strings"
	"testing"
)

func TestValidToken(t *testing.T) {
	good := []string{"a", "Z", "0", "_", "-", "s-01", "r0003-1a2b3c4d", strings.Repeat("x", 128)}
	bad := []string{"", "a b", "a.b", "a*", "a>", "a/b", "é", "a\x00", strings.Repeat("x", 129), "a\n"}
	for _, s := range good {
		if !ValidToken(s) {
			t.Errorf("ValidToken(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidToken(s) {
			t.Errorf("ValidToken(%q) = true", s)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (string, error)
		want string
	}{
		{"TaskSubject", func() (string, error) { return TaskSubject("cpu", "s1", "r1") }, "hb.task.cpu.s1.r1"},
		{"TaskFilter", func() (string, error) { return TaskFilter("gpu") }, "hb.task.gpu.>"},
		{"WorkerConsumer", func() (string, error) { return WorkerConsumer("gpu") }, "workers-gpu"},
		{"EventSubject", func() (string, error) { return EventSubject("s1", "r1", EventTraj) }, "hb.evt.s1.r1.traj"},
		{"EventFilter", func() (string, error) { return EventFilter("s1") }, "hb.evt.s1.>"},
		{"ReplicaEventFilter", func() (string, error) { return ReplicaEventFilter("s1", "r1") }, "hb.evt.s1.r1.>"},
		{"ProgressFilter", func() (string, error) { return ProgressFilter("s1") }, "hb.evt.s1.*.progress"},
		{"ControlSubject", func() (string, error) { return ControlSubject("submit") }, "hb.ctl.submit"},
		{"CancelSubject", func() (string, error) { return CancelSubject("s1") }, "hb.ctl.cancel.s1"},
		{"SweepKey", func() (string, error) { return SweepKey("s1") }, "s1"},
		{"ReplicaKey", func() (string, error) { return ReplicaKey("s1", "r1") }, "s1.r1"},
		{"ReplicaKeyFilter", func() (string, error) { return ReplicaKeyFilter("s1") }, "s1.>"},
		{"CheckpointObject", func() (string, error) { return CheckpointObject("s1", "r1") }, "s1/r1/ckpt"},
		{"ArtifactObject", func() (string, error) { return ArtifactObject("s1", "r1", "params.bin") }, "s1/r1/files/params.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn()
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	for _, s := range []string{TaskSubjects, EventSubjects, CancelFilter} {
		if !strings.HasPrefix(s, Prefix+".") {
			t.Errorf("%q does not start with the prefix", s)
		}
	}
	if MsgID("s1", "r1", 3, "traj", 12) != "s1/r1/3/traj/12" {
		t.Errorf("MsgID = %q", MsgID("s1", "r1", 3, "traj", 12))
	}
}

func TestNamesRejectBadTokens(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (string, error)
		want string // the error names the argument and quotes the value
	}{
		{"TaskSubject pool", func() (string, error) { return TaskSubject("c.pu", "s1", "r1") }, `task subject: pool "c.pu" is not a valid token`},
		{"TaskSubject sweep", func() (string, error) { return TaskSubject("cpu", "s 1", "r1") }, `task subject: sweep "s 1" is not a valid token`},
		{"TaskSubject replica", func() (string, error) { return TaskSubject("cpu", "s1", "") }, `task subject: replica "" is not a valid token`},
		{"TaskFilter", func() (string, error) { return TaskFilter(">") }, `pool ">" is not a valid token`},
		{"WorkerConsumer", func() (string, error) { return WorkerConsumer("a b") }, `pool "a b" is not a valid token`},
		{"EventSubject replica", func() (string, error) { return EventSubject("s1", "r*", EventTraj) }, `replica "r*" is not a valid token`},
		{"EventSubject kind", func() (string, error) { return EventSubject("s1", "r1", "done") }, `kind "done" is not an event kind`},
		{"EventFilter", func() (string, error) { return EventFilter("") }, `sweep "" is not a valid token`},
		{"ReplicaEventFilter", func() (string, error) { return ReplicaEventFilter("s1", "r.1") }, `replica "r.1" is not a valid token`},
		{"ProgressFilter", func() (string, error) { return ProgressFilter("s.1") }, `sweep "s.1" is not a valid token`},
		{"ControlSubject", func() (string, error) { return ControlSubject("cancel.s1") }, `verb "cancel.s1" is not a valid token`},
		{"CancelSubject", func() (string, error) { return CancelSubject("*") }, `sweep "*" is not a valid token`},
		{"SweepKey", func() (string, error) { return SweepKey("a/b") }, `sweep "a/b" is not a valid token`},
		{"ReplicaKey", func() (string, error) { return ReplicaKey("s1", "r.1") }, `replica "r.1" is not a valid token`},
		{"ReplicaKeyFilter", func() (string, error) { return ReplicaKeyFilter("s.1") }, `sweep "s.1" is not a valid token`},
		{"CheckpointObject", func() (string, error) { return CheckpointObject("s1", "../r") }, `replica "../r" is not a valid token`},
		{"ArtifactObject file slash", func() (string, error) { return ArtifactObject("s1", "r1", "a/b") }, `file "a/b" is not a valid file name`},
		{"ArtifactObject file dot", func() (string, error) { return ArtifactObject("s1", "r1", "..") }, `file ".." is not a valid file name`},
		{"ArtifactObject file empty", func() (string, error) { return ArtifactObject("s1", "r1", "") }, `file "" is not a valid file name`},
		{"long value is clipped", func() (string, error) { return SweepKey(strings.Repeat("x", 200) + " ") }, `"` + strings.Repeat("x", 64) + `"…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn()
			if got != "" {
				t.Errorf("returned %q with the error", got)
			}
			e := checkCode(t, err, CodeInvalid)
			if !strings.HasPrefix(e.Message, "protocol: ") || !strings.Contains(e.Message, tt.want) {
				t.Errorf("error %q does not contain %q", e.Message, tt.want)
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	subj, _ := TaskSubject("cpu", "s1", "r1")
	pool, sweep, replica, err := ParseTaskSubject(subj)
	if err != nil || pool != "cpu" || sweep != "s1" || replica != "r1" {
		t.Errorf("ParseTaskSubject(%q) = %q %q %q %v", subj, pool, sweep, replica, err)
	}
	for _, k := range []EventKind{EventProgress, EventTraj, EventResult, EventFailure} {
		subj, _ := EventSubject("s1", "r1", k)
		sweep, replica, kind, err := ParseEventSubject(subj)
		if err != nil || sweep != "s1" || replica != "r1" || kind != k {
			t.Errorf("ParseEventSubject(%q) = %q %q %q %v", subj, sweep, replica, kind, err)
		}
	}
	key, _ := ReplicaKey("s1", "r1")
	sweep, replica, err = ParseReplicaKey(key)
	if err != nil || sweep != "s1" || replica != "r1" {
		t.Errorf("ParseReplicaKey(%q) = %q %q %v", key, sweep, replica, err)
	}

	for _, s := range []string{"", "hb.task.cpu.s1", "hb.task.cpu.s1.r1.x", "xx.task.cpu.s1.r1", "hb.evt.cpu.s1.r1", "hb.task.c pu.s1.r1", "hb.task.cpu..r1"} {
		if _, _, _, err := ParseTaskSubject(s); CodeOf(err) != CodeInvalid {
			t.Errorf("ParseTaskSubject(%q) error = %v", s, err)
		}
	}
	for _, s := range []string{"", "hb.evt.s1.r1", "hb.evt.s1.r1.done", "hb.task.s1.r1.traj", "hb.evt.s1.r1.traj.x", "hb.evt.s 1.r1.traj"} {
		if _, _, _, err := ParseEventSubject(s); CodeOf(err) != CodeInvalid {
			t.Errorf("ParseEventSubject(%q) error = %v", s, err)
		}
	}
	for _, s := range []string{"", "s1", "s1.", ".r1", "s1.r1.x", "s1.r 1"} {
		if _, _, err := ParseReplicaKey(s); CodeOf(err) != CodeInvalid {
			t.Errorf("ParseReplicaKey(%q) error = %v", s, err)
		}
	}
}
