package storage

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
)

// DiskUsage sums the apparent sizes of the files under the trusted dir,
// counting each inode once.
func DiskUsage(ctx context.Context, dir string) (int64, error) {
	type ino struct{ dev, ino uint64 }
	seen := map[ino]bool{}
	var size int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errorsIsNotExist(err) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			k := ino{uint64(st.Dev), st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		if fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0 {
			size += fi.Size()
		}
		return nil
	})
	return size, err
}

func errorsIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
