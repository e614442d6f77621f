// Package logger owns container log drivers and the readers behind
// `logs --follow/--since/--until/--tail` and attach.
//
// The json-file driver writes Docker's on-disk format, one JSON object per
// output line:
//
//	{"log":"hello\n","stream":"stdout","time":"2026-11-23T12:00:00.123456789Z"}
//
// A line longer than 16 KiB is cut into partial messages whose "log" has no
// trailing newline, as Docker does, so one runaway line cannot make the
// writer hold unbounded memory. With a size limit the file is rotated to
// path.1, path.2, ... (path.1 is the newest rotated file).
//
// Writer side (the shim):
//
//	l, err := logger.NewJSONFile(path, maxSize, maxFiles)
//	go l.Copy("stdout", stdoutPipe) // returns at EOF
//	go l.Copy("stderr", stderrPipe)
//	... wait for both Copy calls ...
//	l.Close()
//
// Reader side (the daemon): Read replays the backlog and, with Follow, keeps
// emitting new lines until the caller's stopped channel is closed and
// everything written up to then has been emitted.
//
// The package must not block the container on a slow reader: writers never
// wait for readers, readers only ever look at the files. Copy keeps draining
// its stream even when the disk refuses writes.
package logger
