package shim

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// releaseText drops this process's page-table references to the read-only
// segments of its own executable once the container runs. The start path
// touches most of a large binary (libcontainer, spec conversion, logging);
// the steady-state loop — copy output, wait, answer the socket — needs a
// small part of it. The pages stay in the page cache (or the sealed memfd)
// and fault back in when used, so this is safe; it only stops a long-lived
// shim from being charged for code it ran once. Writable mappings are never
// touched: MADV_DONTNEED would zero them.
func releaseText() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	type span struct{ start, end uintptr }
	var spans []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Contains(fields[1], "w") {
			continue
		}
		path := strings.TrimSuffix(strings.Join(fields[5:], " "), " (deleted)")
		if path != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		spans = append(spans, span{uintptr(start), uintptr(end)})
	}
	for _, s := range spans {
		// The raw syscall takes the address as a number: these ranges are
		// our own mappings, never Go memory.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, s.start, s.end-s.start, unix.MADV_DONTNEED)
	}
}
