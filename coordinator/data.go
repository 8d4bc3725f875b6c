package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/dataset"
	"github.com/heatbath/heatbath/protocol"
)

// storeData stores the sweep's data files in the object store, each once,
// under protocol.DataObject(its SHA-256), so that workers need no shared
// file system. A file whose config carries no hash yet (a sweep built in
// code) is hashed here and its replicas' configs get the hash; a file whose
// contents no longer match the recorded hash is an error. An object that
// exists already is not uploaded again.
func (c *Coordinator) storeData(ctx context.Context, s *Sweep) error {
	type file struct{ path, hash string }
	done := map[file]string{} // → hash stored
	for i := range s.Replicas {
		d := &s.Replicas[i].Config.Data
		if d.Kind != "csv" {
			continue
		}
		for _, p := range []struct{ path, hash *string }{{&d.Path, &d.SHA256}, {&d.TestPath, &d.TestSHA256}} {
			if *p.path == "" {
				continue
			}
			k := file{*p.path, *p.hash}
			sum, ok := done[k]
			if !ok {
				var err error
				if sum, err = c.putData(ctx, *p.path, *p.hash); err != nil {
					return err
				}
				done[k] = sum
			}
			*p.hash = sum
		}
	}
	return nil
}

// putData stores one data file and returns its hash; want, if not empty,
// is the hash its contents must have.
func (c *Coordinator) putData(ctx context.Context, path, want string) (string, error) {
	sum, err := dataset.FileSHA256(path)
	if err != nil {
		return "", fmt.Errorf("coordinator: data file: %w", err)
	}
	if want != "" && sum != want {
		return "", fmt.Errorf("coordinator: data file %s has SHA-256 %s, the sweep was made with %s (the file changed since the spec was loaded)", path, sum, want)
	}
	name, err := protocol.DataObject(sum)
	if err != nil {
		return "", fmt.Errorf("coordinator: %w", err)
	}
	if _, err := c.obs.GetInfo(ctx, name); err == nil {
		return sum, nil // stored by an earlier sweep or submission
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return "", fmt.Errorf("coordinator: data object %s: %w", name, err)
	}
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("coordinator: data file: %w", err)
	}
	defer fh.Close()
	info, err := c.obs.Put(ctx, jetstream.ObjectMeta{Name: name, Description: "data file " + path}, fh)
	if err != nil {
		return "", fmt.Errorf("coordinator: store data file %s: %w", path, err)
	}
	c.log.Info("data file stored", "path", path, "object", name, "bytes", info.Size)
	return sum, nil
}
