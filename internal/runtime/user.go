package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
)

// maxIDFile bounds how much of an image's passwd/group file is read.
const maxIDFile = 4 << 20

// ResolveUser resolves a Docker --user value ("", "name", "uid",
// "name:group", "uid:gid", ...) against the container's /etc/passwd and
// /etc/group. The files are opened with RESOLVE_IN_ROOT so a symlink in the
// image can never make the daemon read a host file. Numeric ids need not
// exist in the files.
func ResolveUser(rootfs, userSpec string) (User, error) {
	passwd, err := readInRoot(rootfs, "etc/passwd")
	if err != nil {
		return User{}, err
	}
	group, err := readInRoot(rootfs, "etc/group")
	if err != nil {
		return User{}, err
	}
	defaults := &user.ExecUser{Home: "/"}
	eu, err := user.GetExecUser(userSpec, defaults, bytes.NewReader(passwd), bytes.NewReader(group))
	if err != nil {
		return User{}, errdefs.InvalidParameter(err)
	}
	u := User{UID: uint32(eu.Uid), GID: uint32(eu.Gid), Home: eu.Home}
	for _, g := range eu.Sgids {
		if uint32(g) != u.GID {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
	}
	return u, nil
}

// readInRoot reads rootfs/name resolving every path component inside rootfs.
// A missing file reads as empty, like Docker treats images without passwd.
func readInRoot(rootfs, name string) ([]byte, error) {
	root, err := os.Open(rootfs)
	if err != nil {
		return nil, errdefs.System(fmt.Errorf("open rootfs: %w", err))
	}
	defer root.Close()
	fd, err := openat2(int(root.Fd()), name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, errdefs.System(fmt.Errorf("open %s in rootfs: %w", name, err))
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, errdefs.System(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errdefs.InvalidParameterf("/%s in the container is not a regular file", strings.TrimPrefix(name, "/"))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxIDFile))
	if err != nil {
		return nil, errdefs.System(err)
	}
	return b, nil
}

func openat2(dirfd int, name string, how *unix.OpenHow) (int, error) {
	for {
		fd, err := unix.Openat2(dirfd, name, how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// ResolveGroups resolves --group-add values (names or numeric ids) against
// the container's /etc/group, as Docker does; numeric ids need not exist.
func ResolveGroups(rootfs string, groups []string) ([]uint32, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	group, err := readInRoot(rootfs, "etc/group")
	if err != nil {
		return nil, err
	}
	gids, err := user.GetAdditionalGroups(groups, bytes.NewReader(group))
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	out := make([]uint32, 0, len(gids))
	for _, g := range gids {
		out = append(out, uint32(g))
	}
	return out, nil
}
