package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/dataset"
	"github.com/heatbath/heatbath/protocol"
)

// errDataMissing and errDataCorrupt are the deterministic failures of a
// data fetch: every worker would see the same, so the replica fails.
var (
	errDataMissing = errors.New("data file not in the object store")
	errDataCorrupt = errors.New("data file does not match its hash")
)

// dataCacheDir is the folder of fetched data files: the user's cache
// folder (on Linux $XDG_CACHE_HOME or ~/.cache) + heatbath/data.
func dataCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "heatbath", "data")
}

// localData returns a copy of d whose data files known by hash are read
// from the local cache, fetched from the object store (stored there by
// the coordinator at submission) when missing, and verified.
func (w *Worker) localData(ctx context.Context, d protocol.DataConfig) (protocol.DataConfig, error) {
	for _, p := range []struct{ path, hash *string }{{&d.Path, &d.SHA256}, {&d.TestPath, &d.TestSHA256}} {
		if *p.hash == "" {
			continue
		}
		local, err := w.fetchData(ctx, *p.hash)
		if err != nil {
			return d, err
		}
		*p.path = local
	}
	return d, nil
}

// fetchData returns the path of the cached data file of the given hash,
// fetching it if needed. The file is written to a temporary name and
// renamed, so a reader never sees a partial file; a cached file is
// verified on every use.
func (w *Worker) fetchData(ctx context.Context, sum string) (string, error) {
	name, err := protocol.DataObject(sum)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errDataCorrupt, err)
	}
	dir := dataCacheDir()
	path := filepath.Join(dir, sum)
	if got, err := dataset.FileSHA256(path); err == nil && got == sum {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("data cache %s: %w", dir, err)
	}
	res, err := w.obs.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return "", fmt.Errorf("%w: object %s (the sweep's data file with SHA-256 %s)", errDataMissing, name, sum)
	}
	if err != nil {
		return "", fmt.Errorf("data object %s: %w", name, err)
	}
	defer res.Close()
	tmp, err := os.CreateTemp(dir, sum+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("data cache %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: a no-op
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), res)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, jetstream.ErrDigestMismatch) {
		return "", fmt.Errorf("%w: object %s: %v", errDataCorrupt, name, err)
	}
	if err != nil {
		return "", fmt.Errorf("data object %s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return "", fmt.Errorf("%w: object %s has SHA-256 %s", errDataCorrupt, name, got)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("data cache %s: %w", dir, err)
	}
	return path, nil
}
