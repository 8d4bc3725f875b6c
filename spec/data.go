package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/heatbath/heatbath/dataset"
	"github.com/heatbath/heatbath/protocol"
)

// hashData resolves the spec's data files (CSV path and test_path, the
// MNIST folder) relative to dir, the spec file's folder, and records the
// SHA-256 of each CSV file's contents in the data config. A hash already
// given in the spec pins the file: different contents are an error. An
// MNIST folder must exist (its files are read when a replica starts, or
// by heatbath validate).
func (f *File) hashData(dir string) error {
	d := &f.Spec.Data
	if d.Kind == "mnist" && d.Dir != "" {
		if !filepath.IsAbs(d.Dir) {
			d.Dir = filepath.Join(dir, d.Dir)
		}
		st, err := os.Stat(d.Dir)
		switch {
		case err != nil:
			return f.errorf("data.dir", "%s", fileProblem(d.Dir, err))
		case !st.IsDir():
			return f.errorf("data.dir", "%s is a file; want the folder of the MNIST IDX files", d.Dir)
		}
	}
	if d.Kind != "csv" {
		return nil
	}
	for _, p := range []struct {
		field      string
		path, hash *string
	}{{"data.path", &d.Path, &d.SHA256}, {"data.test_path", &d.TestPath, &d.TestSHA256}} {
		if *p.path == "" {
			continue
		}
		if !filepath.IsAbs(*p.path) {
			*p.path = filepath.Join(dir, *p.path)
		}
		sum, err := dataset.FileSHA256(*p.path)
		if err != nil {
			return f.errorf(p.field, "%s", fileProblem(*p.path, err))
		}
		if *p.hash != "" && *p.hash != sum {
			return f.errorf(p.field, "%s has SHA-256 %s, the spec pins %s", *p.path, sum, *p.hash)
		}
		*p.hash = sum
	}
	return nil
}

// identityData returns the data config as it enters the sweep id and the
// replica ids: a file known by its content hash is named by the hash
// alone, so that the same contents at another path give the same ids.
func identityData(d protocol.DataConfig) protocol.DataConfig {
	if d.SHA256 != "" {
		d.Path = ""
	}
	if d.TestSHA256 != "" {
		d.TestPath = ""
	}
	return d
}

// fileProblem says in words why path cannot be used: it does not exist,
// may not be read, or the error itself for anything else.
func fileProblem(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path + " does not exist"
	case errors.Is(err, fs.ErrPermission):
		return path + " cannot be read (permission denied)"
	case errors.Is(err, syscall.EISDIR):
		return path + " is a folder, not a file"
	}
	return err.Error()
}
