package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// StateFile keeps a Server's data in a file across restarts (the emulator
// command's --state-file). Writes go to a temporary file in the same
// directory that is then renamed over the old one, so a crash or a full
// disk leaves the previous complete document, never a half-written one.
type StateFile struct {
	path string
	srv  *Server

	mu sync.Mutex
	// last is the document last read or written, so SaveIfChanged can
	// skip the write when nothing changed (SaveState is deterministic).
	last []byte
}

// OpenStateFile ties srv to path and loads path into srv if it exists.
// loaded reports whether it did; a missing file is not an error (the first
// run), an unreadable or invalid one is, so a bad file is never silently
// overwritten with empty data.
func OpenStateFile(srv *Server, path string) (f *StateFile, loaded bool, err error) {
	f = &StateFile{path: path, srv: srv}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read emulator state: %w", err)
	}
	if err := srv.LoadState(bytes.NewReader(raw)); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	f.last = raw
	return f, true, nil
}

// SaveIfChanged writes the state if it differs from what the file holds
// and reports whether it wrote.
func (f *StateFile) SaveIfChanged() (bool, error) {
	return f.save(false)
}

// Save writes the state even if it did not change, e.g. at shutdown, so
// the file exists after a run that stored nothing.
func (f *StateFile) Save() error {
	_, err := f.save(true)
	return err
}

func (f *StateFile) save(always bool) (bool, error) {
	// Holding f.mu across snapshot and write keeps two saves from
	// writing their snapshots in the wrong order.
	f.mu.Lock()
	defer f.mu.Unlock()
	var buf bytes.Buffer
	if err := f.srv.SaveState(&buf); err != nil {
		return false, err
	}
	if !always && f.last != nil && bytes.Equal(buf.Bytes(), f.last) {
		return false, nil
	}
	if err := writeFileAtomic(f.path, buf.Bytes()); err != nil {
		return false, fmt.Errorf("save emulator state: %w", err)
	}
	f.last = buf.Bytes()
	return true, nil
}

// writeFileAtomic replaces path with data: temp file in the same directory
// (rename is only atomic within a file system), fsync, rename. The file is
// private (0600, from CreateTemp): it holds contacts' emails and names.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	// Removing after a successful rename fails harmlessly.
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	// Without the sync a crash soon after the rename can leave an empty
	// file under the new name on some file systems.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Persist the rename itself; not every platform can sync a directory,
	// and the data is already safe either way, so errors are ignored.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
