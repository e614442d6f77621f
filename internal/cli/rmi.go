package cli

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type rmiOptions struct {
	force   bool
	noPrune bool
	images  []string
}

func newRmiCommand(c *berthCLI) *cobra.Command {
	return withAliasGroup(rmiCommand(c, "rmi [OPTIONS] IMAGE [IMAGE...]"), "rmi")
}

func rmiCommand(c *berthCLI, use string) *cobra.Command {
	var opts rmiOptions
	cmd := &cobra.Command{
		Use:   use,
		Short: "Remove one or more images",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runRmi(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.force, "force", "f", false, "Force removal of the image")
	f.BoolVar(&opts.noPrune, "no-prune", false, "Do not delete untagged parents")
	return cmd
}

func runRmi(ctx context.Context, c *berthCLI, opts *rmiOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var errs []string
	for _, img := range opts.images {
		res, err := api.ImageRemove(ctx, img, client.ImageRemoveOptions{Force: opts.force, PruneChildren: !opts.noPrune})
		if err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		for _, d := range res.Items {
			if d.Untagged != "" {
				fmt.Fprintf(c.out, "Untagged: %s\n", d.Untagged)
			}
			if d.Deleted != "" {
				fmt.Fprintf(c.out, "Deleted: %s\n", d.Deleted)
			}
		}
	}
	return collectErrors(errs)
}
