package cli

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newVolumeCommand is `berth volume`.
func newVolumeCommand(c *berthCLI) *cobra.Command {
	cmd := groupCommand("volume", "Manage volumes")
	cmd.AddCommand(newVolumeCreateCommand(c), newVolumeInspectCommand(c), newVolumeLsCommand(c),
		newVolumePruneCommand(c), newVolumeRmCommand(c))
	return cmd
}

type volumeCreateOptions struct {
	name   string
	driver string
	opts   []string
	labels []string
}

func newVolumeCreateCommand(c *berthCLI) *cobra.Command {
	var opts volumeCreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if opts.name != "" {
					return statusError{status: "Conflicting options: either specify --name or provide positional arg, not both", code: 1}
				}
				opts.name = args[0]
			}
			return runVolumeCreate(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.driver, "driver", "d", "local", "Specify volume driver name")
	f.StringVar(&opts.name, "name", "", "Specify volume name")
	_ = f.MarkHidden("name")
	listVarP(f, &opts.opts, "opt", "o", "Set driver specific options")
	listVar(f, &opts.labels, "label", "Set metadata for a volume")
	return cmd
}

func runVolumeCreate(ctx context.Context, c *berthCLI, opts *volumeCreateOptions) error {
	driverOpts, err := parseKeyValueMap("opt", opts.opts)
	if err != nil {
		return err
	}
	labels, err := parseLabels(nil, opts.labels)
	if err != nil {
		return err
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.VolumeCreate(ctx, client.VolumeCreateOptions{
		Name: opts.name, Driver: opts.driver, DriverOpts: driverOpts, Labels: labels,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, res.Volume.Name)
	return nil
}

func newVolumeInspectCommand(c *berthCLI) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			get := func(ctx context.Context, ref string) (any, []byte, error) {
				res, err := api.VolumeInspect(ctx, ref, client.VolumeInspectOptions{})
				if err != nil {
					return nil, nil, err
				}
				return res.Volume, res.Raw, nil
			}
			return inspectAll(cmd.Context(), c, args, format, get)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", inspectFormatHelp)
	return cmd
}

const defaultVolumesFormat = "table {{.Driver}}\t{{.Name}}"

type volumeLsOptions struct {
	quiet   bool
	format  string
	filters filterOpt
}

func newVolumeLsCommand(c *berthCLI) *cobra.Command {
	var opts volumeLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVolumeLs(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.VarP(&opts.filters, "filter", "f", "Provide filter values (e.g. \"dangling=true\")")
	f.StringVar(&opts.format, "format", "", formatHelp)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display volume names")
	return cmd
}

func runVolumeLs(ctx context.Context, c *berthCLI, opts *volumeLsOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: opts.filters.f})
	if err != nil {
		return err
	}
	format := listTemplate(opts.format, opts.quiet, "{{.Name}}", defaultVolumesFormat)
	items := res.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	rows := make([]any, 0, len(items))
	for i := range items {
		rows = append(rows, &volumeRow{v: items[i]})
	}
	return listFormat{format: format, header: volumesHeader}.write(c.out, rows)
}

var volumesHeader = map[string]string{
	"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
	"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED",
}

// volumeRow is one line of `volume ls`, with Docker's template fields.
type volumeRow struct{ v volume.Volume }

func (r *volumeRow) Name() string       { return r.v.Name }
func (r *volumeRow) Driver() string     { return r.v.Driver }
func (r *volumeRow) Scope() string      { return r.v.Scope }
func (r *volumeRow) Mountpoint() string { return r.v.Mountpoint }
func (r *volumeRow) CreatedAt() string  { return r.v.CreatedAt }
func (r *volumeRow) Label(k string) string {
	return r.v.Labels[k]
}

func (r *volumeRow) Labels() string {
	kv := make([]string, 0, len(r.v.Labels))
	for k, v := range r.v.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func (r *volumeRow) Links() string {
	if r.v.UsageData == nil {
		return "N/A"
	}
	return fmt.Sprint(r.v.UsageData.RefCount)
}

func (r *volumeRow) Size() string {
	if r.v.UsageData == nil {
		return "N/A"
	}
	if r.v.UsageData.Size < 0 {
		return "N/A"
	}
	return units.HumanSize(float64(r.v.UsageData.Size))
}

func newVolumeRmCommand(c *berthCLI) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			var errs []string
			for _, name := range args {
				if _, err := api.VolumeRemove(cmd.Context(), name, client.VolumeRemoveOptions{Force: force}); err != nil {
					errs = append(errs, c.errText(err))
					continue
				}
				fmt.Fprintln(c.out, name)
			}
			return collectErrors(errs)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}

type volumePruneOptions struct {
	all     bool
	force   bool
	filters filterOpt
}

func newVolumePruneCommand(c *berthCLI) *cobra.Command {
	var opts volumePruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVolumePrune(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	f.Var(&opts.filters, "filter", "Provide filter values (e.g. \"label=<label>\")")
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func runVolumePrune(ctx context.Context, c *berthCLI, opts *volumePruneOptions) error {
	if !opts.force {
		warning := "WARNING! This will remove anonymous local volumes not used by at least one container."
		if opts.all {
			warning = "WARNING! This will remove all local volumes not used by at least one container."
		}
		fmt.Fprintf(c.out, "%s\nAre you sure you want to continue? [y/N] ", warning)
		line, _ := bufio.NewReader(c.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return nil
		}
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.VolumePrune(ctx, client.VolumePruneOptions{All: opts.all, Filters: opts.filters.f})
	if err != nil {
		return err
	}
	if len(res.Report.VolumesDeleted) > 0 {
		fmt.Fprintln(c.out, "Deleted Volumes:")
		for _, n := range res.Report.VolumesDeleted {
			fmt.Fprintln(c.out, n)
		}
		fmt.Fprintln(c.out)
	}
	fmt.Fprintf(c.out, "Total reclaimed space: %s\n", humanSize(int64(res.Report.SpaceReclaimed)))
	return nil
}
