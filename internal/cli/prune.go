package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type pruneOptions struct {
	force   bool
	all     bool
	volumes bool
	filters filterOpt
}

// confirm asks the question on out and reads the answer from in.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

func newContainerPruneCommand(c *berthCLI) *cobra.Command {
	var opts pruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !opts.force && !confirm(c.in, c.out, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?") {
				return nil
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			space, out, err := pruneContainers(cmd.Context(), api, opts.filters.f)
			if err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintln(c.out, out)
			}
			fmt.Fprintln(c.out, "Total reclaimed space:", units.HumanSize(float64(space)))
			return nil
		},
	}
	f := cmd.Flags()
	f.Var(&opts.filters, "filter", "Provide filter values (e.g. \"until=<timestamp>\")")
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func newSystemPruneCommand(c *berthCLI) *cobra.Command {
	var opts pruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSystemPrune(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Remove all unused images not just dangling ones")
	f.Var(&opts.filters, "filter", "Provide filter values (e.g. \"label=<key>=<value>\")")
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	f.BoolVar(&opts.volumes, "volumes", false, "Prune anonymous volumes")
	return cmd
}

func systemPruneWarning(opts *pruneOptions) string {
	w := []string{"all stopped containers", "all networks not used by at least one container"}
	if opts.volumes {
		w = append(w, "all anonymous volumes not used by at least one container")
	}
	if opts.all {
		w = append(w, "all images without at least one container associated to them", "all build cache")
	} else {
		w = append(w, "all dangling images", "unused build cache")
	}
	var b strings.Builder
	b.WriteString("WARNING! This will remove:\n")
	for _, s := range w {
		b.WriteString("  - " + s + "\n")
	}
	var filters []string
	for k, vals := range opts.filters.f {
		if k != "label" && k != "label!" && k != "until" {
			continue
		}
		for v := range vals {
			filters = append(filters, k+"="+v)
		}
	}
	if len(filters) > 0 {
		sort.Strings(filters)
		b.WriteString("\n  Items to be pruned will be filtered with:\n")
		for _, f := range filters {
			b.WriteString("  - " + f + "\n")
		}
	}
	b.WriteString("\nAre you sure you want to continue?")
	return b.String()
}

// runSystemPrune calls each prune endpoint in the order Docker's CLI does:
// containers, networks, volumes (--volumes), images, build cache.
func runSystemPrune(ctx context.Context, c *berthCLI, opts *pruneOptions) error {
	if opts.volumes && len(opts.filters.f["until"]) > 0 {
		return fmt.Errorf(`ERROR: The "until" filter is not supported with "--volumes"`)
	}
	if !opts.force && !confirm(c.in, c.out, systemPruneWarning(opts)) {
		return nil
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	steps := []func(context.Context, *client.Client, client.Filters) (uint64, string, error){
		pruneContainers, pruneNetworks,
	}
	if opts.volumes {
		steps = append(steps, pruneVolumes)
	}
	steps = append(steps, func(ctx context.Context, api *client.Client, f client.Filters) (uint64, string, error) {
		return pruneImages(ctx, api, f, opts.all)
	}, func(ctx context.Context, api *client.Client, f client.Filters) (uint64, string, error) {
		return pruneBuildCache(ctx, api, f, opts.all)
	})
	var total uint64
	for _, step := range steps {
		space, out, err := step(ctx, api, opts.filters.f)
		if err != nil {
			return err
		}
		total += space
		if out != "" {
			fmt.Fprintln(c.out, out)
		}
	}
	fmt.Fprintln(c.out, "Total reclaimed space:", units.HumanSize(float64(total)))
	return nil
}

// missingEndpoint reports a 404 from a prune endpoint this daemon does not
// serve (yet): nothing was reclaimed there.
func missingEndpoint(err error) bool {
	return err != nil && strings.Contains(err.Error(), "page not found")
}

func cloneFilters(f client.Filters) client.Filters {
	out := client.Filters{}
	for k, vals := range f {
		for v := range vals {
			out.Add(k, v)
		}
	}
	return out
}

func pruneContainers(ctx context.Context, api *client.Client, f client.Filters) (uint64, string, error) {
	res, err := api.ContainerPrune(ctx, client.ContainerPruneOptions{Filters: f})
	if err != nil {
		return 0, "", err
	}
	return res.Report.SpaceReclaimed, listing("Deleted Containers:", res.Report.ContainersDeleted), nil
}

func pruneNetworks(ctx context.Context, api *client.Client, f client.Filters) (uint64, string, error) {
	res, err := api.NetworkPrune(ctx, client.NetworkPruneOptions{Filters: f})
	if missingEndpoint(err) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	return 0, listing("Deleted Networks:", res.Report.NetworksDeleted), nil
}

func pruneVolumes(ctx context.Context, api *client.Client, f client.Filters) (uint64, string, error) {
	res, err := api.VolumePrune(ctx, client.VolumePruneOptions{Filters: f})
	if err != nil {
		return 0, "", err
	}
	return res.Report.SpaceReclaimed, listing("Deleted Volumes:", res.Report.VolumesDeleted), nil
}

func pruneImages(ctx context.Context, api *client.Client, f client.Filters, all bool) (uint64, string, error) {
	f = cloneFilters(f)
	f.Add("dangling", fmt.Sprint(!all))
	res, err := api.ImagePrune(ctx, client.ImagePruneOptions{Filters: f})
	if missingEndpoint(err) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	var lines []string
	for _, d := range res.Report.ImagesDeleted {
		if d.Untagged != "" {
			lines = append(lines, "untagged: "+d.Untagged)
		}
		if d.Deleted != "" {
			lines = append(lines, "deleted: "+d.Deleted)
		}
	}
	return res.Report.SpaceReclaimed, listing("Deleted Images:", lines), nil
}

func pruneBuildCache(ctx context.Context, api *client.Client, f client.Filters, all bool) (uint64, string, error) {
	res, err := api.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: all, Filters: f})
	if missingEndpoint(err) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	return res.Report.SpaceReclaimed, listing("Deleted build cache objects:", res.Report.CachesDeleted), nil
}

// listing is a prune section: a heading and one line per item, or "".
func listing(heading string, items []string) string {
	if len(items) == 0 {
		return ""
	}
	return heading + "\n" + strings.Join(items, "\n") + "\n"
}
