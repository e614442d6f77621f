package cli

import "github.com/spf13/cobra"

// newContainerCommand is `berth container`, reaching the same commands as
// the top-level shortcuts under Docker's management names.
func newContainerCommand(c *berthCLI) *cobra.Command {
	cmd := groupCommand("container", "Manage containers")
	ls := psCommand(c, "ls [OPTIONS]")
	ls.Aliases = []string{"list", "ps"}
	rm := newRmCommand(c)
	rm.Aliases = []string{"remove"}
	cmd.AddCommand(
		newCreateCommand(c), newContainerInspectCommand(c), newKillCommand(c), newLogsCommand(c),
		withAliasGroup(ls, "ps"), newRenameCommand(c), newRestartCommand(c), rm, newRunCommand(c),
		newStartCommand(c), newStopCommand(c), newWaitCommand(c),
		newPauseCommand(c), newUnpauseCommand(c), newTopCommand(c), newStatsCommand(c),
		newExecCommand(c), newUpdateCommand(c),
		newCommitCommand(c),
	)
	cmd.AddCommand(newPortCommand(c))
	cmd.AddCommand(fsContainerCommands(c)...)
	return cmd
}

// newImageCommand is `berth image`.
func newImageCommand(c *berthCLI) *cobra.Command {
	cmd := groupCommand("image", "Manage images")
	ls := imagesCommand(c, "ls [OPTIONS] [REPOSITORY[:TAG]]")
	ls.Aliases = []string{"list"}
	rm := rmiCommand(c, "rm [OPTIONS] IMAGE [IMAGE...]")
	rm.Aliases = []string{"remove"}
	cmd.AddCommand(
		newImportCommand(c), newImageInspectCommand(c), withAliasGroup(ls, "images"),
		withAliasGroup(rm, "rmi"), newTagCommand(c), newPullCommand(c), newPushCommand(c),
		newBuildCommand(c),
	)
	cmd.AddCommand(imageArchiveSubcommands(c)...)
	return cmd
}

func groupCommand(name, short string) *cobra.Command {
	return &cobra.Command{
		Use:   name + " COMMAND",
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
}
