package api

import (
	"context"
	"net/http"

	"github.com/moby/moby/api/types/build"
	apicontainer "github.com/moby/moby/api/types/container"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	apivolume "github.com/moby/moby/api/types/volume"

	"berth/internal/errdefs"
)

// DiskUsageBackend is GET /system/df; an optional ability of the system
// service.
type DiskUsageBackend interface {
	DiskUsage(ctx context.Context) (system.DiskUsage, error)
}

// legacyDiskUsage is /system/df before API 1.52: flat lists, the client
// sums them.
type legacyDiskUsage struct {
	LayersSize int64                  `json:"LayersSize"`
	Images     []apiimage.Summary     `json:"Images"`
	Containers []apicontainer.Summary `json:"Containers"`
	Volumes    []apivolume.Volume     `json:"Volumes"`
	BuildCache []build.CacheRecord    `json:"BuildCache"`
}

func (s *Server) dfRoutes() {
	b, ok := s.b.System.(DiskUsageBackend)
	if !ok {
		return
	}
	s.handle("GET /system/df", func(w http.ResponseWriter, r *http.Request) error {
		want := map[system.DiskUsageObject]bool{}
		for _, t := range r.URL.Query()["type"] {
			switch o := system.DiskUsageObject(t); o {
			case system.ContainerObject, system.ImageObject, system.VolumeObject, system.BuildCacheObject:
				want[o] = true
			default:
				return errdefs.InvalidParameterf("unknown object type: %s", t)
			}
		}
		all := len(want) == 0
		du, err := b.DiskUsage(r.Context())
		if err != nil {
			return err
		}
		if compareVersions(requestVersion(r.Context()), "1.52") < 0 {
			writeJSON(w, http.StatusOK, legacyUsage(du, want, all))
			return nil
		}
		verbose := boolValue(r, "verbose")
		out := system.DiskUsage{}
		if (all || want[system.ImageObject]) && du.ImageUsage != nil {
			iu := *du.ImageUsage
			if !verbose {
				iu.Items = nil
			}
			out.ImageUsage = &iu
		}
		if (all || want[system.ContainerObject]) && du.ContainerUsage != nil {
			cu := *du.ContainerUsage
			if !verbose {
				cu.Items = nil
			}
			out.ContainerUsage = &cu
		}
		if (all || want[system.VolumeObject]) && du.VolumeUsage != nil {
			vu := *du.VolumeUsage
			if !verbose {
				vu.Items = nil
			}
			out.VolumeUsage = &vu
		}
		if all || want[system.BuildCacheObject] {
			bu := build.DiskUsage{}
			if du.BuildCacheUsage != nil {
				bu = *du.BuildCacheUsage
			}
			if !verbose {
				bu.Items = nil
			}
			out.BuildCacheUsage = &bu
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func legacyUsage(du system.DiskUsage, want map[system.DiskUsageObject]bool, all bool) legacyDiskUsage {
	var out legacyDiskUsage
	if (all || want[system.ImageObject]) && du.ImageUsage != nil {
		out.LayersSize = du.ImageUsage.TotalSize
		out.Images = du.ImageUsage.Items
	}
	if (all || want[system.ContainerObject]) && du.ContainerUsage != nil {
		out.Containers = du.ContainerUsage.Items
	}
	if (all || want[system.VolumeObject]) && du.VolumeUsage != nil {
		out.Volumes = du.VolumeUsage.Items
	}
	if (all || want[system.BuildCacheObject]) && du.BuildCacheUsage != nil {
		out.BuildCache = du.BuildCacheUsage.Items
	}
	if out.BuildCache == nil && (all || want[system.BuildCacheObject]) {
		out.BuildCache = []build.CacheRecord{}
	}
	return out
}
