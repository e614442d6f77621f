package daemon

import (
	units "github.com/docker/go-units"

	"berth/internal/errdefs"
)

func parseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, errdefs.InvalidParameter(err)
	}
	return n, nil
}
