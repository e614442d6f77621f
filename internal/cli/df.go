package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type dfOptions struct {
	verbose bool
	format  string
}

func newSystemDfCommand(c *berthCLI) *cobra.Command {
	var opts dfOptions
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show docker disk usage",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDf(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.verbose, "verbose", "v", false, "Show detailed information on space usage")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template")
	return cmd
}

var dfHeader = map[string]string{
	"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE",
}

// dfRow is one line of the summary table.
type dfRow struct {
	typ                              string
	total, active, size, reclaimable int64
	percent                          bool
}

func (r *dfRow) Type() string       { return r.typ }
func (r *dfRow) TotalCount() string { return strconv.FormatInt(r.total, 10) }
func (r *dfRow) Active() string     { return strconv.FormatInt(r.active, 10) }
func (r *dfRow) Size() string       { return units.HumanSize(float64(r.size)) }
func (r *dfRow) Reclaimable() string {
	if r.percent && r.size > 0 {
		return fmt.Sprintf("%s (%v%%)", units.HumanSize(float64(r.reclaimable)), r.reclaimable*100/r.size)
	}
	return units.HumanSize(float64(r.reclaimable))
}

func runDf(ctx context.Context, c *berthCLI, opts *dfOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	du, err := api.DiskUsage(ctx, client.DiskUsageOptions{
		Containers: true, Images: true, Volumes: true, BuildCache: true, Verbose: opts.verbose,
	})
	if err != nil {
		return err
	}
	if opts.verbose {
		return writeDfVerbose(c, du)
	}
	format := opts.format
	if format == "" || format == "table" {
		format = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
	}
	rows := []any{
		&dfRow{"Images", du.Images.TotalCount, du.Images.ActiveCount, du.Images.TotalSize, du.Images.Reclaimable, true},
		&dfRow{"Containers", du.Containers.TotalCount, du.Containers.ActiveCount, du.Containers.TotalSize, du.Containers.Reclaimable, true},
		&dfRow{"Local Volumes", du.Volumes.TotalCount, du.Volumes.ActiveCount, du.Volumes.TotalSize, du.Volumes.Reclaimable, true},
		&dfRow{"Build Cache", du.BuildCache.TotalCount, du.BuildCache.ActiveCount, du.BuildCache.TotalSize, du.BuildCache.Reclaimable, false},
	}
	return listFormat{format: format, header: dfHeader}.write(c.out, rows)
}

// writeDfVerbose prints Docker's four sections: images, containers,
// volumes with their links and sizes, build cache.
func writeDfVerbose(c *berthCLI, du client.DiskUsageResult) error {
	now := time.Now()
	fmt.Fprint(c.out, "Images space usage:\n\n")
	var rows []any
	for _, img := range du.Images.Items {
		r := imageRows(img)[0]
		r.trunc, r.now = true, now
		rows = append(rows, r)
	}
	if err := (listFormat{format: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", header: imagesHeader}).write(c.out, rows); err != nil {
		return err
	}
	fmt.Fprint(c.out, "\nContainers space usage:\n\n")
	rows = nil
	for _, ctr := range du.Containers.Items {
		ctr.SizeRootFs = 0
		rows = append(rows, &psRow{c: ctr, trunc: true, now: now})
	}
	if err := (listFormat{format: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}", header: psHeader}).write(c.out, rows); err != nil {
		return err
	}
	fmt.Fprint(c.out, "\nLocal Volumes space usage:\n\n")
	rows = nil
	for _, v := range du.Volumes.Items {
		rows = append(rows, &volumeRow{v: v})
	}
	if err := (listFormat{format: "table {{.Name}}\t{{.Links}}\t{{.Size}}", header: volumesHeader}).write(c.out, rows); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "\nBuild cache usage: %s\n\n", units.HumanSize(float64(du.BuildCache.TotalSize)))
	rows = nil
	for _, b := range du.BuildCache.Items {
		rows = append(rows, &cacheRow{r: b, now: now})
	}
	return listFormat{format: "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}", header: cacheHeader}.write(c.out, rows)
}

var cacheHeader = map[string]string{
	"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
	"LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED",
}

// cacheRow is one build cache record of df -v.
type cacheRow struct {
	r   build.CacheRecord
	now time.Time
}

func (c *cacheRow) ID() string           { return shortID(c.r.ID) }
func (c *cacheRow) CacheType() string    { return c.r.Type }
func (c *cacheRow) Size() string         { return units.HumanSizeWithPrecision(float64(c.r.Size), 3) }
func (c *cacheRow) CreatedSince() string { return timeAgo(c.now, c.r.CreatedAt) }
func (c *cacheRow) UsageCount() string   { return strconv.Itoa(c.r.UsageCount) }
func (c *cacheRow) Shared() string       { return strconv.FormatBool(c.r.Shared) }
func (c *cacheRow) LastUsedSince() string {
	if c.r.LastUsedAt == nil {
		return ""
	}
	return timeAgo(c.now, *c.r.LastUsedAt)
}
