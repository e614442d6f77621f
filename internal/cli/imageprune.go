package cli

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// addImageArchiveCommands adds save, load and history, and `system df`
// to the `system` group. Commands another file registered already (the
// system group, history) are reused, not doubled.
func addImageArchiveCommands(root *cobra.Command, c *berthCLI) {
	addMissing(root, withAliasGroup(newSaveCommand(c), "save"), withAliasGroup(newLoadCommand(c), "load"),
		withAliasGroup(newHistoryCommand(c), "history"))
	system := subcommand(root, "system")
	if system == nil {
		system = groupCommand("system", "Manage Docker")
		root.AddCommand(system)
	}
	addMissing(system, newSystemDfCommand(c))
}

// addImageArchiveSubcommands adds save, load, history and prune to the
// `image` group.
func addImageArchiveSubcommands(image *cobra.Command, c *berthCLI) {
	addMissing(image, newSaveCommand(c), newLoadCommand(c), newHistoryCommand(c), newImagePruneCommand(c))
}

func subcommand(parent *cobra.Command, name string) *cobra.Command {
	for _, cmd := range parent.Commands() {
		if cmd.Name() == name {
			return cmd
		}
	}
	return nil
}

func addMissing(parent *cobra.Command, cmds ...*cobra.Command) {
	for _, cmd := range cmds {
		if subcommand(parent, cmd.Name()) == nil {
			parent.AddCommand(cmd)
		}
	}
}

type imagePruneOptions struct {
	force   bool
	all     bool
	filters filterOpt
}

func newImagePruneCommand(c *berthCLI) *cobra.Command {
	var opts imagePruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImagePrune(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Remove all unused images, not just dangling ones")
	f.Var(&opts.filters, "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	f.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func runImagePrune(ctx context.Context, c *berthCLI, opts *imagePruneOptions) error {
	if !opts.force {
		warning := "WARNING! This will remove all dangling images."
		if opts.all {
			warning = "WARNING! This will remove all images without at least one container associated to them."
		}
		fmt.Fprintf(c.out, "%s\nAre you sure you want to continue? [y/N] ", warning)
		line, _ := bufio.NewReader(c.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return nil // cancelled, as volume prune
		}
	}
	f := client.Filters{}
	for k, vals := range opts.filters.f {
		for v := range vals {
			f.Add(k, v)
		}
	}
	f.Add("dangling", strconv.FormatBool(!opts.all))
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImagePrune(ctx, client.ImagePruneOptions{Filters: f})
	if err != nil {
		return err
	}
	var reclaimed uint64
	if len(res.Report.ImagesDeleted) > 0 {
		var b strings.Builder
		b.WriteString("Deleted Images:\n")
		for _, d := range res.Report.ImagesDeleted {
			if d.Untagged != "" {
				b.WriteString("untagged: " + d.Untagged + "\n")
			} else {
				b.WriteString("deleted: " + d.Deleted + "\n")
			}
		}
		fmt.Fprintln(c.out, b.String())
		reclaimed = res.Report.SpaceReclaimed
	}
	fmt.Fprintln(c.out, "Total reclaimed space:", units.HumanSize(float64(reclaimed)))
	return nil
}
