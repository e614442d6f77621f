package daemon

import (
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"berth/internal/config"
	"berth/internal/errdefs"
)

// initBinary finds the binary that --init runs as PID 1: the daemon's
// init-path, else berth itself when it is statically linked (it serves
// the role when called as docker-init), else docker-init on PATH, as
// dockerd looks it up.
//
// berth's own binary is never bind-mounted into a container: a privileged
// container could remount the bind read-write and rewrite the daemon
// (CVE-2019-5736's class). It is copied once per daemon into the data
// root instead, and the copy is what containers see.
type initBinary struct {
	once sync.Once
	p    string
	err  error
}

func (b *initBinary) path(ctx context.Context, cfg config.Config) (string, error) {
	if cfg.InitPath != "" {
		if _, err := os.Stat(cfg.InitPath); err != nil {
			return "", errdefs.InvalidParameterf("init binary %s: %v", cfg.InitPath, err)
		}
		return cfg.InitPath, nil
	}
	b.once.Do(func() { b.p, b.err = ownInitCopy(filepath.Join(cfg.DataRoot, "init")) })
	if b.err == nil {
		return b.p, nil
	}
	if p, err := exec.LookPath("docker-init"); err == nil {
		return p, nil
	}
	return "", errdefs.InvalidParameterf("no init binary for --init: %v; set the daemon's init-path, or put docker-init on PATH", b.err)
}

// ownInitCopy copies the running binary into dir when it is static (a
// dynamic one cannot run inside an arbitrary image).
func ownInitCopy(dir string) (string, error) {
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return "", err
	}
	defer self.Close()
	f, err := elf.NewFile(self)
	if err != nil {
		return "", err
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("berth is dynamically linked")
		}
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".docker-init-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := self.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := io.Copy(tmp, self); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// A rename leaves running containers on the inode they bound.
	dst := filepath.Join(dir, "docker-init")
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}
