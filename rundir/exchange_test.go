package rundir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestReadExchangeChecks: ReadExchange returns what Encode wrote, and
// refuses, as a one-line *FileError naming the file, a file of another
// version and one whose pairs do not match its ladder (a reader indexing
// the ladder by pair would run off its end).
func TestReadExchangeChecks(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadExchange(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no exchange.json: %v, want fs.ErrNotExist", err)
	}
	good := ExchangeSummary{Version: ExchangeVersion, Ladder: []float64{1, 2, 4}, Every: 10, Energy: "full",
		Pairs: []ExchangePair{{Rung: 0, Proposed: 3, Accepted: 1}, {Rung: 1}}, Chains: []ExchangeChain{{Chain: 0}, {Chain: 1}, {Chain: 2}}}
	write := func(s ExchangeSummary) {
		t.Helper()
		b, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, FileExchange), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(good)
	got, err := ReadExchange(dir)
	if err != nil || len(got.Pairs) != 2 || got.Pairs[0].Accepted != 1 || len(got.Ladder) != 3 {
		t.Fatalf("good exchange.json: %+v, %v", got, err)
	}
	type badCase struct {
		want string
		s    ExchangeSummary
	}
	var bad []badCase
	v := good
	v.Version = ExchangeVersion + 1
	bad = append(bad, badCase{"version", v})
	v = good
	v.Ladder = []float64{1}
	v.Pairs = good.Pairs[:1]
	bad = append(bad, badCase{"pairs", v})
	v = good
	v.Pairs = append(append([]ExchangePair(nil), good.Pairs...), ExchangePair{Rung: 2})
	bad = append(bad, badCase{"pairs", v})
	for _, c := range bad {
		want := c.want
		write(c.s)
		_, err := ReadExchange(dir)
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), FileExchange) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line *FileError naming %s and %q", want, err, FileExchange, want)
		}
	}
}

// TestReadPruneLogVersion: ReadPruneLog returns what WritePruneLog wrote
// and refuses a prune.json of another version.
func TestReadPruneLogVersion(t *testing.T) {
	dir := t.TempDir()
	l := &PruneLog{Version: PruneVersion, Rule: &protocol.PruneConfig{Metric: "val_loss", At: []float64{0.5}, Keep: 0.5, Among: "all"},
		Decisions: []protocol.PruneDecision{{Sweep: "s", Replica: "r", Reached: 1, Rank: 1, Kept: 1}}}
	if err := WritePruneLog(dir, l); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPruneLog(dir)
	if err != nil || len(got.Decisions) != 1 || got.Decisions[0].Replica != "r" {
		t.Fatalf("good prune.json: %+v, %v", got, err)
	}
	l.Version = PruneVersion + 1
	if err := WritePruneLog(dir, l); err != nil {
		t.Fatal(err)
	}
	_, err = ReadPruneLog(dir)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), FilePrune) || !strings.Contains(err.Error(), "version") {
		t.Errorf("prune.json of version %d: %v, want a *FileError naming the file and the version", l.Version, err)
	}
}
