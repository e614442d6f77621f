// Package atomicfile owns replacing a file's content so that a reader, or
// the next process after a crash, sees the old content or the new, never a
// mix: write a temp file beside it, fsync, rename, fsync the directory.
//
// It is a leaf: it imports nothing of berth's and classifies no errors.
package atomicfile
