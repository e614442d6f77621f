package cli

import "github.com/spf13/cobra"

// addFSCommands adds cp, diff and export, and `system prune` to the
// `system` group (made here when no other file made it first).
func addFSCommands(root *cobra.Command, c *berthCLI) {
	root.AddCommand(newCpCommand(c), newDiffCommand(c), newExportCommand(c))
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
	system.AddCommand(newSystemPruneCommand(c))
}

// fsContainerCommands are cp, diff, export and prune under `container`.
func fsContainerCommands(c *berthCLI) []*cobra.Command {
	return []*cobra.Command{newCpCommand(c), newDiffCommand(c), newExportCommand(c), newContainerPruneCommand(c)}
}
