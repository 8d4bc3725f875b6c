package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// WriteFile writes b to path atomically and durably: it writes a temporary
// file with a unique name in the same folder, fsyncs it, renames it over
// path and fsyncs the folder. A reader sees the old content or the new,
// never a part; after a crash the file is either absent, old, or complete.
func WriteFile(path string, b []byte) error {
	if err := writeTemp(path, b, func(tmp string) error { return os.Rename(tmp, path) }); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// WriteFiles writes files (by name) into dir as WriteFile does, with one
// fsync of the folder for all of them. The file named last, if it is among
// them, is renamed into place only after every other file is durable, so
// its presence means the others are complete (a replica's result.json).
func WriteFiles(dir string, files map[string][]byte, last string) error {
	names := make([]string, 0, len(files))
	for n := range files {
		if n != last {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(dir, n)
		if err := writeTemp(path, files[n], func(tmp string) error { return os.Rename(tmp, path) }); err != nil {
			return err
		}
	}
	if b, ok := files[last]; ok {
		if len(names) > 0 {
			// The renames above must be durable before last appears.
			if err := syncDir(dir); err != nil {
				return err
			}
		}
		return WriteFile(filepath.Join(dir, last), b)
	}
	return syncDir(dir)
}

// writeTemp writes b to a new temporary file beside path, fsyncs and closes
// it, then calls done with its name; on any error the temporary file is
// removed.
func writeTemp(path string, b []byte, done func(tmp string) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("rundir: write %s: %w", path, unwrapPath(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("rundir: write %s: %w", path, unwrapPath(err))
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("rundir: sync %s: %w", path, unwrapPath(err))
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("rundir: write %s: %w", path, unwrapPath(err))
	}
	if err = done(tmp); err != nil {
		return fmt.Errorf("rundir: write %s: %w", path, unwrapPath(err))
	}
	return nil
}

// syncDir fsyncs a folder, making the renames and creations in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("rundir: sync folder %s: %w", dir, unwrapPath(err))
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("rundir: sync folder %s: %w", dir, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the path of an *os.PathError or *os.LinkError (the
// caller names the file the user knows, not a temporary one), keeping the
// underlying error for errors.Is.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
