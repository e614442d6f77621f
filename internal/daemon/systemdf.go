package daemon

import (
	"context"

	apibuild "github.com/moby/moby/api/types/build"
	apicontainer "github.com/moby/moby/api/types/container"
	apiimage "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	apivolume "github.com/moby/moby/api/types/volume"
	"github.com/opencontainers/go-digest"

	"berth/internal/backend"
)

// DiskUsage is GET /system/df: what images, containers, volumes and the
// build cache hold on disk and how much of it nothing uses.
type DiskUsage struct {
	images     *Images
	containers *Containers
	volumes    *Volumes
}

// Usage reports the kinds asked for (all when none is), with per-object
// items when verbose.
func (d *DiskUsage) Usage(ctx context.Context, kinds map[system.DiskUsageObject]bool, verbose bool) (*system.DiskUsage, error) {
	all := len(kinds) == 0
	out := &system.DiskUsage{}
	if all || kinds[system.ImageObject] {
		u, err := d.images.diskUsage(ctx)
		if err != nil {
			return nil, err
		}
		out.ImageUsage = u
	}
	if all || kinds[system.ContainerObject] {
		list, err := d.containers.List(ctx, backend.ContainerListOptions{All: true, Size: true})
		if err != nil {
			return nil, err
		}
		u := &apicontainer.DiskUsage{Items: list, TotalCount: int64(len(list))}
		for _, c := range list {
			u.TotalSize += c.SizeRw
			if c.State == apicontainer.StateRunning || c.State == apicontainer.StatePaused || c.State == apicontainer.StateRestarting {
				u.ActiveCount++
			} else {
				u.Reclaimable += c.SizeRw
			}
		}
		out.ContainerUsage = u
	}
	if all || kinds[system.VolumeObject] {
		out.VolumeUsage = d.volumes.diskUsage()
	}
	if all || kinds[system.BuildCacheObject] {
		out.BuildCacheUsage = &apibuild.DiskUsage{}
	}
	if !verbose {
		if out.ImageUsage != nil {
			out.ImageUsage.Items = nil
		}
		if out.ContainerUsage != nil {
			out.ContainerUsage.Items = nil
		}
		if out.VolumeUsage != nil {
			out.VolumeUsage.Items = nil
		}
	}
	return out, nil
}

// diskUsage sizes every image: its layers, the part of them other images
// share, and the store's total with each layer counted once.
func (s *Images) diskUsage(ctx context.Context) (*apiimage.DiskUsage, error) {
	list, err := s.List(ctx, true, nil)
	if err != nil {
		return nil, err
	}
	users := map[digest.Digest]int{}
	sizes := map[digest.Digest]int64{}
	chains := map[string][]digest.Digest{}
	for _, img := range list {
		layers, err := s.store.LayerChain(ctx, digest.Digest(img.ID))
		if err != nil {
			continue
		}
		for _, l := range layers {
			users[l.ChainID]++
			sizes[l.ChainID] = l.Size
			chains[img.ID] = append(chains[img.ID], l.ChainID)
		}
	}
	u := &apiimage.DiskUsage{TotalCount: int64(len(list))}
	for _, sz := range sizes {
		u.TotalSize += sz
	}
	var used int64
	for i := range list {
		var shared int64
		for _, c := range chains[list[i].ID] {
			if users[c] > 1 {
				shared += sizes[c]
			}
		}
		list[i].SharedSize = shared
		if list[i].Containers > 0 {
			u.ActiveCount++
			used += list[i].Size - shared
		}
	}
	u.Reclaimable = u.TotalSize - used
	u.Items = list
	return u, nil
}

// diskUsage sizes local volumes with their reference counts.
func (v *Volumes) diskUsage() *apivolume.DiskUsage {
	u := &apivolume.DiskUsage{}
	for _, vol := range v.store.List() {
		av := apiVolume(vol)
		size := v.store.Size(vol.Name)
		refs := int64(len(v.store.Refs(vol.Name)))
		av.UsageData = &apivolume.UsageData{Size: size, RefCount: refs}
		u.Items = append(u.Items, *av)
		u.TotalCount++
		u.TotalSize += size
		if refs > 0 {
			u.ActiveCount++
		} else {
			u.Reclaimable += size
		}
	}
	return u
}
