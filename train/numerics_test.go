package train

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/nn"
)

// TestCheckpointOfOtherNumericsRefused: a checkpoint records the numerics
// version it was computed with; one of another version, or of format
// HBREPL02 (no version), is refused with a *NumericsError naming both
// versions, and the replica it was offered to is left at step 0.
func TestCheckpointOfOtherNumericsRefused(t *testing.T) {
	cfg := spiralConfig(adlala(), 200)
	a := mustBuild(t, cfg)
	collect(t, a, 100)
	ck, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ck, []byte(checkpointMagic)) || binary.LittleEndian.Uint32(ck[len(checkpointMagic):]) != uint32(nn.NumericsVersion) {
		t.Fatalf("checkpoint does not open with %s and numerics version %d", checkpointMagic, nn.NumericsVersion)
	}
	// The checkpoint as written restores.
	if err := mustBuild(t, cfg).UnmarshalBinary(ck); err != nil {
		t.Fatalf("own checkpoint refused: %v", err)
	}

	other := append([]byte(nil), ck...)
	binary.LittleEndian.PutUint32(other[len(checkpointMagic):], uint32(nn.NumericsVersion+1))
	old := append([]byte("HBREPL02"), ck[len(checkpointMagic)+4:]...)
	for _, c := range []struct {
		name    string
		data    []byte
		version int
	}{{"other version", other, nn.NumericsVersion + 1}, {"HBREPL02", old, 0}} {
		b := mustBuild(t, cfg)
		err := b.UnmarshalBinary(c.data)
		if !errors.Is(err, ErrNumerics) {
			t.Fatalf("%s: got %v, want a numerics refusal", c.name, err)
		}
		var ne *NumericsError
		if !errors.As(err, &ne) || ne.Version != c.version {
			t.Fatalf("%s: got %#v, want version %d", c.name, err, c.version)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "numerics version "+strconv.Itoa(nn.NumericsVersion)) ||
			(c.version != 0 && !strings.Contains(msg, "numerics version "+strconv.Itoa(c.version))) {
			t.Fatalf("%s: message %q does not name both versions on one line", c.name, msg)
		}
		if b.Chain.Steps() != 0 || b.Evals() != 0 {
			t.Fatalf("%s: refused checkpoint moved the replica to step %d", c.name, b.Chain.Steps())
		}
	}
}

// TestConfigNumerics: Build records the binary's numerics version in the
// resolved config and the result, accepts a config that names it and
// refuses one that names another, naming both.
func TestConfigNumerics(t *testing.T) {
	cfg := spiralConfig(adlala(), 10)
	r := mustBuild(t, cfg)
	if r.Config.Numerics != nn.NumericsVersion {
		t.Fatalf("resolved config has numerics %d, want %d", r.Config.Numerics, nn.NumericsVersion)
	}
	collect(t, r, 10)
	res := r.Result()
	if res.Numerics != nn.NumericsVersion {
		t.Fatalf("result has numerics %d, want %d", res.Numerics, nn.NumericsVersion)
	}
	js, err := res.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"numerics": `+strconv.Itoa(nn.NumericsVersion))) {
		t.Fatalf("result.json lacks the numerics version:\n%s", js)
	}

	cfg.Numerics = nn.NumericsVersion
	mustBuild(t, cfg)
	cfg.Numerics = nn.NumericsVersion + 1
	_, err = Build(cfg)
	if !errors.Is(err, ErrNumerics) || !strings.Contains(err.Error(), strconv.Itoa(nn.NumericsVersion+1)) ||
		!strings.Contains(err.Error(), strconv.Itoa(nn.NumericsVersion)) {
		t.Fatalf("config of numerics version %d: got %v, want a refusal naming both versions", cfg.Numerics, err)
	}
}
