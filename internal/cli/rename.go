package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type renameOptions struct {
	oldName string
	newName string
}

func newRenameCommand(c *berthCLI) *cobra.Command {
	var opts renameOptions
	cmd := &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.oldName, opts.newName = args[0], args[1]
			return runRename(cmd.Context(), c, &opts)
		},
	}
	return withAliasGroup(cmd, "rename")
}

func runRename(ctx context.Context, c *berthCLI, opts *renameOptions) error {
	oldName := strings.TrimSpace(opts.oldName)
	newName := strings.TrimSpace(opts.newName)
	if oldName == "" || newName == "" {
		return errors.New("Error: Neither old nor new names may be empty")
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	if _, err := api.ContainerRename(ctx, oldName, client.ContainerRenameOptions{NewName: newName}); err != nil {
		fmt.Fprintln(c.err, c.errText(err))
		return fmt.Errorf("Error: failed to rename container named %s", oldName)
	}
	return nil
}
