package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/moby/moby/client"
	"github.com/moby/term"
	"github.com/spf13/cobra"
)

func newDiffCommand(c *berthCLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd.Context(), c, args[0])
		},
	}
	return withAliasGroup(cmd, "diff")
}

func runDiff(ctx context.Context, c *berthCLI, ref string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ContainerDiff(ctx, ref, client.ContainerDiffOptions{})
	if err != nil {
		return err
	}
	for _, ch := range res.Changes {
		fmt.Fprintf(c.out, "%s %s\n", ch.Kind, ch.Path)
	}
	return nil
}

type exportOptions struct{ output string }

func newExportCommand(c *berthCLI) *cobra.Command {
	var opts exportOptions
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd.Context(), c, &opts, args[0])
		},
	}
	cmd.Flags().StringVarP(&opts.output, "output", "o", "", "Write to a file, instead of STDOUT")
	return withAliasGroup(cmd, "export")
}

func runExport(ctx context.Context, c *berthCLI, opts *exportOptions, ref string) error {
	if opts.output == "" {
		if f, ok := c.out.(*os.File); ok && term.IsTerminal(f.Fd()) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
	} else if err := checkOutputDir(opts.output); err != nil {
		return fmt.Errorf("failed to export container: %w", err)
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	rc, err := api.ContainerExport(ctx, ref, client.ContainerExportOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	if opts.output == "" {
		_, err := io.Copy(c.out, rc)
		return err
	}
	return writeFileAtomic(opts.output, rc)
}
