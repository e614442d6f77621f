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
// to the `system` group (made here when no other file made it first).
func addImageArchiveCommands(root *cobra.Command, c *berthCLI) {
	root.AddCommand(withAliasGroup(newSaveCommand(c), "save"), withAliasGroup(newLoadCommand(c), "load"),
		withAliasGroup(newHistoryCommand(c), "history"))
	var system *cobra.Command
	for _, cmd := range root.Commands() {
		if cmd.Name() == "system" {
			system = cmd
		}
	}
	if system == nil {
		system = groupCommand("system", "Manage Docker")
		root.AddCommand(system)
	}
	system.AddCommand(newSystemDfCommand(c))
}

// imageArchiveSubcommands are save, load, history and prune under `image`.
func imageArchiveSubcommands(c *berthCLI) []*cobra.Command {
	return []*cobra.Command{newSaveCommand(c), newLoadCommand(c), newHistoryCommand(c), newImagePruneCommand(c)}
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
