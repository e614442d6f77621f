package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of every temp file this package creates, so a
// store can sweep what a crash left behind (IsTemp).
const TempPrefix = ".tmp-"

// IsTemp reports whether a directory entry is a leftover temp file.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// Write replaces path with data durably: after it returns, a crash of the
// process or the machine leaves the new content.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

// Replace swaps in data atomically but without fsync: readers never see a
// torn file, but a machine crash may keep the old content. For files that
// are regenerated anyway, on hot paths.
func Replace(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if durable {
		return SyncDir(dir)
	}
	return nil
}

// SyncDir makes a directory's entries (a rename, a removal) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
