package cli

import (
	"context"
	"fmt"

	units "github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newBuilderCommand is `berth builder`: build and the build cache.
func newBuilderCommand(c *berthCLI) *cobra.Command {
	cmd := groupCommand("builder", "Manage builds")
	var all, force bool
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuilderPrune(cmd.Context(), c, all)
		},
	}
	prune.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	prune.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.AddCommand(newBuildCommand(c), prune)
	return cmd
}

func runBuilderPrune(ctx context.Context, c *berthCLI, all bool) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: all})
	if err != nil {
		return err
	}
	if len(res.Report.CachesDeleted) > 0 {
		fmt.Fprintln(c.out, "Deleted build cache objects:")
		for _, id := range res.Report.CachesDeleted {
			fmt.Fprintln(c.out, id)
		}
	}
	fmt.Fprintf(c.out, "Total reclaimed space: %s\n", units.HumanSize(float64(res.Report.SpaceReclaimed)))
	return nil
}
