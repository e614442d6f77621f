package shim

import (
	"io"

	"berth/internal/logger"
)

// logSink is what the shim needs from a log driver: copy a stream to EOF,
// then flush everything on Close.
type logSink interface {
	Copy(stream string, r io.Reader) error
	Close() error
}

func openLog(path string, maxSize int64, maxFiles int) (logSink, error) {
	l, err := logger.NewJSONFile(path, maxSize, maxFiles)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return l, nil
}
