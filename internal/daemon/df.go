package daemon

import (
	"context"
	"sort"

	apicontainer "github.com/moby/moby/api/types/container"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	apivolume "github.com/moby/moby/api/types/volume"

	"berth/internal/backend"
)

// diskUsage gathers GET /system/df from the services that own each kind.
type diskUsage struct {
	containers *Containers
	images     *Images
	volumes    *Volumes
}

// DiskUsage is GET /system/df: every section with its items; the API
// drops what the request did not ask for and shapes it per version.
func (s *System) DiskUsage(ctx context.Context) (system.DiskUsage, error) {
	if s.usage == nil {
		return system.DiskUsage{}, nil
	}
	return s.usage.collect(ctx)
}

func (u *diskUsage) collect(ctx context.Context) (system.DiskUsage, error) {
	imgs, err := u.images.List(ctx, false, backend.Filters{})
	if err != nil {
		return system.DiskUsage{}, err
	}
	iu := &apiimage.DiskUsage{Items: []apiimage.Summary{}}
	for _, img := range imgs {
		// One layer chain per image here: nothing is counted as shared.
		img.SharedSize = 0
		iu.TotalCount++
		iu.TotalSize += img.Size
		if img.Containers > 0 {
			iu.ActiveCount++
		} else {
			iu.Reclaimable += img.Size
		}
		iu.Items = append(iu.Items, img)
	}
	ctrs, err := u.containers.List(ctx, backend.ContainerListOptions{All: true, Size: true})
	if err != nil {
		return system.DiskUsage{}, err
	}
	cu := &apicontainer.DiskUsage{Items: []apicontainer.Summary{}}
	for _, c := range ctrs {
		cu.TotalCount++
		cu.TotalSize += c.SizeRw
		if c.State == apicontainer.StateRunning || c.State == apicontainer.StatePaused || c.State == apicontainer.StateRestarting {
			cu.ActiveCount++
		} else {
			cu.Reclaimable += c.SizeRw
		}
		cu.Items = append(cu.Items, c)
	}
	return system.DiskUsage{ImageUsage: iu, ContainerUsage: cu, VolumeUsage: u.volumes.usage()}, nil
}

// usage is every volume with its UsageData (size of _data, references).
func (v *Volumes) usage() *apivolume.DiskUsage {
	out := &apivolume.DiskUsage{Items: []apivolume.Volume{}}
	for _, vol := range v.store.List() {
		a := apiVolume(vol)
		refs := int64(len(v.store.Refs(vol.Name)))
		a.UsageData = &apivolume.UsageData{Size: v.store.Size(vol.Name), RefCount: refs}
		out.TotalCount++
		out.TotalSize += a.UsageData.Size
		if refs > 0 {
			out.ActiveCount++
		} else {
			out.Reclaimable += a.UsageData.Size
		}
		out.Items = append(out.Items, *a)
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return out
}
