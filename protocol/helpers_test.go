package protocol

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// The valid* functions return a fresh, valid message of each type; tests
// derive invalid ones from them.

func validConfig() ReplicaConfig {
	return ReplicaConfig{
		Data:      DataConfig{Kind: "spiral", Preset: "authors", Train: 500, Validation: 100, Test: 500, Noise: 0.02},
		Model:     ModelConfig{Hidden: []int{100}, Activation: "relu"},
		Method:    MethodConfig{Name: "adlala", H: 0.25, Hidden: GroupConfig{Tau: ptr(1e-4), SigmaA: ptr(0.01), Epsilon: ptr(0.05)}, Output: GroupConfig{Gamma: ptr(1.0), Tau: ptr(0.0)}},
		Steps:     80000,
		EvalEvery: 800,
		Seed:      7,
		DataSeed:  1,
	}
}

func ptr[T any](v T) *T { return &v }

func validTask() *Task {
	return &Task{
		Sweep: "s-01", Replica: "r0003-1a2b3c4d", Index: 3, Group: "method=adlala,tau=0.0001",
		Config: validConfig(), CheckpointEvery: 10000, CheckpointSeconds: 60, ProgressEvery: 800,
		TrajChunkRows: 256, SpecHash: "9f86d081884c7d65",
	}
}

func validProgress() *Progress {
	return &Progress{
		Sweep: "s-01", Replica: "r0003-1a2b3c4d", Attempt: 1, Worker: "w-host1-0",
		Step: 800, Steps: 80000, Metrics: map[string]float64{"train_loss": 0.61, "val_acc": 0.7},
	}
}

func validTrajChunk() *TrajChunk {
	return &TrajChunk{
		Sweep: "s-01", Replica: "r0003-1a2b3c4d", Attempt: 2, Seq: 0, After: -1,
		Columns: []string{"step", "train_loss", "val_loss", "tkin:hidden"},
		Rows: [][]float64{
			{0, 0.69, math.NaN(), 1e-4},
			{800, 0.61, math.NaN(), math.Inf(1)},
			{1600, math.Copysign(0, -1), math.NaN(), math.Inf(-1)}, // -0 (a constant -0.0 is +0)
		},
	}
}

func validResult() *Result {
	return &Result{
		Sweep: "s-01", Replica: "r0003-1a2b3c4d", Attempt: 1, Worker: "w-host1-0", Status: ResultDone,
		Summary: json.RawMessage(`{"version":1,"status":"done","steps":80000}`),
		Artifacts: []ObjectRef{
			{Name: "s-01/r0003-1a2b3c4d/files/params.bin", File: "params.bin", Digest: "SHA-256=n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg=", Size: 1624},
			{Name: "s-01/r0003-1a2b3c4d/files/trajectory.csv", File: "trajectory.csv", Digest: "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=", Size: 10},
		},
	}
}

func validFailure() *Failure {
	return &Failure{
		Sweep: "s-01", Replica: "r0003-1a2b3c4d", Attempt: 1, Worker: "w-host1-0",
		Code: CodeInvalidConfig, Message: "train: method \"adlala\": sigma_a must be positive", Step: 0,
	}
}

func validReplicaState() *ReplicaState {
	return &ReplicaState{
		State: StateRunning, Attempt: 1, Worker: "w-host1-0", Step: 800, Steps: 80000,
		Checkpoint: "s-01/r0003-1a2b3c4d/ckpt", Updated: time.Date(2026, 11, 25, 19, 50, 44, 123456789, time.UTC),
	}
}

func validSweepRecord() *SweepRecord {
	return &SweepRecord{
		ID: "s-01", Name: "spiral ladder", Spec: "name: spiral ladder\nsteps: 80000\n", SpecHash: "9f86d081884c7d65",
		Replicas: 16, Created: time.Date(2026, 11, 25, 19, 50, 44, 0, time.UTC), Status: SweepRunning,
	}
}

// validMessages returns one valid message of each type, by name.
func validMessages() map[string]Message {
	return map[string]Message{
		"task":          validTask(),
		"progress":      validProgress(),
		"traj chunk":    validTrajChunk(),
		"result":        validResult(),
		"failure":       validFailure(),
		"replica state": validReplicaState(),
		"sweep record":  validSweepRecord(),
	}
}

// decodeAny decodes data as the type of m.
func decodeAny(m Message, data []byte) (Message, error) {
	switch m.(type) {
	case *Task:
		return wrapDecode(DecodeTask(data))
	case *Progress:
		return wrapDecode(DecodeProgress(data))
	case *TrajChunk:
		return wrapDecode(DecodeTrajChunk(data))
	case *Result:
		return wrapDecode(DecodeResult(data))
	case *Failure:
		return wrapDecode(DecodeFailure(data))
	case *ReplicaState:
		return wrapDecode(DecodeReplicaState(data))
	case *SweepRecord:
		return wrapDecode(DecodeSweepRecord(data))
	}
	panic("decodeAny: unknown message type")
}

// wrapDecode returns a nil interface for a nil message.
func wrapDecode[P Message](m P, err error) (Message, error) {
	if err != nil {
		if !reflect.ValueOf(m).IsNil() {
			panic("decoder returned a message with an error")
		}
		return nil, err
	}
	return m, nil
}

// sameValue reports whether a and b are deeply equal as reflect.DeepEqual
// has it, except that NaN equals NaN.
func sameValue(a, b any) bool {
	return sameReflect(reflect.ValueOf(a), reflect.ValueOf(b))
}

func sameReflect(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float() || math.IsNaN(a.Float()) && math.IsNaN(b.Float())
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameReflect(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameReflect(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !sameReflect(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if a.Type() == timeType {
			return reflect.DeepEqual(a.Interface(), b.Interface())
		}
		for i := range a.NumField() {
			if !sameReflect(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// checkCode fails the test unless err is an *Error of the given code.
func checkCode(t *testing.T, err error, code Code) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %v", code)
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v is a %T, want *Error", err, err)
	}
	if e.Code != code {
		t.Fatalf("error %q has code %v, want %v", e, e.Code, code)
	}
	return e
}

// mustEncode encodes m or fails the test.
func mustEncode(t *testing.T, m Message) []byte {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode(%T): %v", m, err)
	}
	return b
}
