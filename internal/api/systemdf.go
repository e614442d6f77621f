package api

import (
	"context"
	"net/http"

	apibuild "github.com/moby/moby/api/types/build"
	apicontainer "github.com/moby/moby/api/types/container"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	apivolume "github.com/moby/moby/api/types/volume"

	"berth/internal/errdefs"
)

// DiskUsageBackend serves GET /system/df.
type DiskUsageBackend interface {
	Usage(ctx context.Context, kinds map[system.DiskUsageObject]bool, verbose bool) (*system.DiskUsage, error)
}

// legacyDiskUsage is /system/df before API 1.52: flat lists, the client
// adds them up.
type legacyDiskUsage struct {
	LayersSize int64
	Images     []apiimage.Summary
	Containers []apicontainer.Summary
	Volumes    []apivolume.Volume
	BuildCache []apibuild.CacheRecord
}

func (s *Server) getSystemDF(w http.ResponseWriter, r *http.Request) error {
	if s.b.DiskUsage == nil {
		return errdefs.NotImplemented(errorString("disk usage is not supported"))
	}
	kinds := map[system.DiskUsageObject]bool{}
	for _, t := range r.URL.Query()["type"] {
		switch k := system.DiskUsageObject(t); k {
		case system.ContainerObject, system.ImageObject, system.VolumeObject, system.BuildCacheObject:
			kinds[k] = true
		default:
			return errdefs.InvalidParameterf("unknown object type: %s", t)
		}
	}
	v := requestVersion(r.Context())
	legacy := v != "" && compareVersions(v, "1.52") < 0
	du, err := s.b.DiskUsage.Usage(r.Context(), kinds, legacy || boolValue(r, "verbose"))
	if err != nil {
		return err
	}
	if !legacy {
		writeJSON(w, http.StatusOK, du)
		return nil
	}
	out := legacyDiskUsage{Images: []apiimage.Summary{}, Containers: []apicontainer.Summary{}, Volumes: []apivolume.Volume{}, BuildCache: []apibuild.CacheRecord{}}
	if du.ImageUsage != nil {
		out.LayersSize = du.ImageUsage.TotalSize
		out.Images = append(out.Images, du.ImageUsage.Items...)
	}
	if du.ContainerUsage != nil {
		out.Containers = append(out.Containers, du.ContainerUsage.Items...)
	}
	if du.VolumeUsage != nil {
		out.Volumes = append(out.Volumes, du.VolumeUsage.Items...)
	}
	if du.BuildCacheUsage != nil {
		out.BuildCache = append(out.BuildCache, du.BuildCacheUsage.Items...)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) postImagesPrune(w http.ResponseWriter, r *http.Request) error {
	b, err := s.imageArchive()
	if err != nil {
		return err
	}
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	rep, err := b.Prune(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
