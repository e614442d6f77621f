package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newTopCommand(c *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTop(cmd.Context(), c, args[0], args[1:])
		},
	}
	// Everything after the container belongs to ps.
	cmd.Flags().SetInterspersed(false)
	return withAliasGroup(cmd, "top")
}

func runTop(ctx context.Context, c *berthCLI, name string, psArgs []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ContainerTop(ctx, name, client.ContainerTopOptions{Arguments: psArgs})
	if err != nil {
		return err
	}
	return writeTop(c.out, res.Titles, res.Processes)
}

// writeTop aligns ps's columns the way the Docker CLI does.
func writeTop(out io.Writer, titles []string, procs [][]string) error {
	w := tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, strings.Join(titles, "\t"))
	for _, p := range procs {
		fmt.Fprintln(w, strings.Join(p, "\t"))
	}
	return w.Flush()
}
