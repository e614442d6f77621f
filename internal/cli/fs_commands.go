package cli

import "github.com/spf13/cobra"

// fsCommands are the top-level filesystem commands (cp, diff, export) and
// the `system` group with prune.
func fsCommands(c *berthCLI) []*cobra.Command {
	system := groupCommand("system", "Manage Docker")
	system.AddCommand(newSystemPruneCommand(c))
	return []*cobra.Command{newCpCommand(c), newDiffCommand(c), newExportCommand(c), system}
}

// fsContainerCommands are the same under `container`, with prune.
func fsContainerCommands(c *berthCLI) []*cobra.Command {
	return []*cobra.Command{newCpCommand(c), newDiffCommand(c), newExportCommand(c), newContainerPruneCommand(c)}
}
