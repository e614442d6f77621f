package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/docker/go-units"
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
			return runSystemDf(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.verbose, "verbose", "v", false, "Show detailed information on space usage")
	f.StringVar(&opts.format, "format", "", formatHelp)
	return cmd
}

const defaultDfFormat = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

var dfHeader = map[string]string{"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}

// dfRow is one line of the df summary.
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
		return fmt.Sprintf("%s (%v%%)", units.HumanSize(float64(r.reclaimable)), (r.reclaimable*100)/r.size)
	}
	return units.HumanSize(float64(r.reclaimable))
}

func (r *dfRow) MarshalJSON() ([]byte, error) {
	return marshalNoEscape(map[string]string{"Type": r.Type(), "TotalCount": r.TotalCount(), "Active": r.Active(),
		"Size": r.Size(), "Reclaimable": r.Reclaimable()})
}

func runSystemDf(ctx context.Context, c *berthCLI, opts *dfOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	du, err := api.DiskUsage(ctx, client.DiskUsageOptions{Containers: true, Images: true, BuildCache: true, Volumes: true, Verbose: opts.verbose})
	if err != nil {
		return err
	}
	if opts.verbose {
		return writeDfVerbose(c, du)
	}
	format := opts.format
	if format == "" || format == "table" {
		format = defaultDfFormat
	}
	rows := []any{
		&dfRow{"Images", du.Images.TotalCount, du.Images.ActiveCount, du.Images.TotalSize, du.Images.Reclaimable, true},
		&dfRow{"Containers", du.Containers.TotalCount, du.Containers.ActiveCount, du.Containers.TotalSize, du.Containers.Reclaimable, true},
		&dfRow{"Local Volumes", du.Volumes.TotalCount, du.Volumes.ActiveCount, du.Volumes.TotalSize, du.Volumes.Reclaimable, true},
		&dfRow{"Build Cache", du.BuildCache.TotalCount, du.BuildCache.ActiveCount, du.BuildCache.TotalSize, du.BuildCache.Reclaimable, false},
	}
	return listFormat{format: format, header: dfHeader}.write(c.out, rows)
}

// writeDfVerbose prints Docker's four sections: images (first tag only),
// containers (without virtual size), volumes, build cache.
func writeDfVerbose(c *berthCLI, du client.DiskUsageResult) error {
	now := time.Now()
	var rows []any
	for _, img := range du.Images.Items {
		r := imageRows(img)[0]
		r.trunc, r.now = true, now
		rows = append(rows, r)
	}
	fmt.Fprint(c.out, "Images space usage:\n\n")
	imgFormat := "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"
	if err := (listFormat{format: imgFormat, header: imagesHeader}).write(c.out, rows); err != nil {
		return err
	}
	rows = nil
	for _, ct := range du.Containers.Items {
		ct.SizeRootFs = 0
		rows = append(rows, &psRow{c: ct, trunc: true, now: now})
	}
	fmt.Fprint(c.out, "\nContainers space usage:\n\n")
	ctFormat := "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"
	if err := (listFormat{format: ctFormat, header: psHeader}).write(c.out, rows); err != nil {
		return err
	}
	rows = nil
	for _, v := range du.Volumes.Items {
		rows = append(rows, &volumeRow{v: v})
	}
	fmt.Fprint(c.out, "\nLocal Volumes space usage:\n\n")
	if err := (listFormat{format: "table {{.Name}}\t{{.Links}}\t{{.Size}}", header: volumesHeader}).write(c.out, rows); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "\nBuild cache usage: %s\n\n", units.HumanSize(float64(du.BuildCache.TotalSize)))
	bcHeader := map[string]string{"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
		"LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}
	return listFormat{format: "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}", header: bcHeader}.write(c.out, nil)
}
