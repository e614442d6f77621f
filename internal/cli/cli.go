package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Version and GitCommit are stamped by the build (-ldflags -X); the defaults
// mark a development binary.
var (
	Version   = "dev"
	GitCommit = "unknown"
)

// DefaultHost is where the client looks for the daemon when neither -H nor
// BERTH_HOST nor DOCKER_HOST says otherwise.
const DefaultHost = "unix:///run/berth/berth.sock"

// statusError carries an exit code up to Execute. An empty status prints
// nothing, which is how run and start pass on the container's own exit code.
type statusError struct {
	status string
	code   int
}

func (e statusError) Error() string {
	if e.status == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.status
}

// berthCLI is the state shared by all commands of one invocation: the
// streams, the global flags, and the lazily created API client.
type berthCLI struct {
	in       io.Reader
	out      io.Writer
	err      io.Writer
	hosts    []string
	logLevel string
	debug    bool
	version  bool
	api      *client.Client
}

// host picks the daemon address the way the Docker CLI does, with berth's
// own variable first.
func (c *berthCLI) host() string {
	if len(c.hosts) > 0 && c.hosts[len(c.hosts)-1] != "" {
		return c.hosts[len(c.hosts)-1]
	}
	if h := os.Getenv("BERTH_HOST"); h != "" {
		return h
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return DefaultHost
}

// client returns the Engine API client, creating it on first use so that
// commands which fail on flags never dial.
func (c *berthCLI) client() (*client.Client, error) {
	if c.api != nil {
		return c.api, nil
	}
	api, err := client.New(
		client.WithHost(c.host()),
		client.WithUserAgent("berth-cli/"+Version),
	)
	if err != nil {
		return nil, err
	}
	c.api = api
	return api, nil
}

func (c *berthCLI) close() {
	if c.api != nil {
		_ = c.api.Close()
	}
}

// Execute runs the berth client command line with args (program name
// excluded) and returns the process exit code.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &berthCLI{in: stdin, out: stdout, err: stderr}
	defer c.close()
	root := newRootCommand(c)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var se statusError
	if errors.As(err, &se) {
		if se.status != "" {
			fmt.Fprintln(stderr, berthWording(se.status))
		}
		if se.code == 0 {
			return 1
		}
		return se.code
	}
	if msg := c.errText(err); msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	return 1
}

// errText is the user-visible form of an error: the moby client's
// connection failures become Docker's classic "Cannot connect" sentence
// naming berth (its own wording mentions a missing file, which would also
// fool run's exit-code mapping).
func (c *berthCLI) errText(err error) string {
	if client.IsErrConnectionFailed(err) {
		return fmt.Sprintf("Cannot connect to the berth daemon at %s. Is the berth daemon running?", c.host())
	}
	return berthWording(err.Error())
}

// berthWording renames the daemon in the moby client's connection errors,
// which hard-code Docker.
func berthWording(s string) string {
	r := strings.NewReplacer(
		"Cannot connect to the Docker daemon", "Cannot connect to the berth daemon",
		"Is the docker daemon running", "Is the berth daemon running",
	)
	return r.Replace(s)
}

func newRootCommand(c *berthCLI) *cobra.Command {
	root := &cobra.Command{
		Use:              "berth [OPTIONS] COMMAND",
		Short:            "A self-sufficient runtime for containers",
		SilenceUsage:     true,
		SilenceErrors:    true,
		TraverseChildren: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return c.setupLogging()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.version {
				fmt.Fprintf(c.out, "berth version %s, build %s\n", Version, GitCommit)
				return nil
			}
			return cmd.Help()
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	f := root.Flags()
	f.StringSliceVarP(&c.hosts, "host", "H", nil, "Daemon socket to connect to")
	f.StringVarP(&c.logLevel, "log-level", "l", "info", `Set the logging level ("debug", "info", "warn", "error", "fatal")`)
	f.BoolVarP(&c.debug, "debug", "D", false, "Enable debug mode")
	f.BoolVarP(&c.version, "version", "v", false, "Print version information and quit")

	root.AddCommand(
		newRunCommand(c), newCreateCommand(c), newStartCommand(c), newStopCommand(c),
		newKillCommand(c), newRestartCommand(c), newRmCommand(c), newWaitCommand(c),
		newPsCommand(c), newLogsCommand(c), newInspectCommand(c), newRenameCommand(c),
		newImagesCommand(c), newImportCommand(c), newTagCommand(c), newRmiCommand(c),
		newVersionCommand(c), newInfoCommand(c), newEventsCommand(c),
		newContainerCommand(c), newImageCommand(c), newVolumeCommand(c),
		newPauseCommand(c), newUnpauseCommand(c), newTopCommand(c), newStatsCommand(c),
		newExecCommand(c), newUpdateCommand(c), newAttachCommand(c),
		newPullCommand(c), newPushCommand(c), newLoginCommand(c), newLogoutCommand(c), newSearchCommand(c),
		newCommitCommand(c), newBuildCommand(c), newBuilderCommand(c),
	)
	root.AddCommand(newNetworkCommand(c), newPortCommand(c))
	root.AddCommand(&cobra.Command{
		Use:   "daemon [OPTIONS]",
		Short: "Run the berth daemon",
		// cmd/berth dispatches this role before Execute; listed for help.
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("berth: the daemon role is started by the berth binary itself")
		},
		DisableFlagParsing: true,
	})
	addImageArchiveCommands(root, c)
	addFSCommands(root, c)
	root.SetFlagErrorFunc(flagErrorFunc)
	setupHelp(root)
	return root
}

func (c *berthCLI) setupLogging() error {
	level := slog.LevelInfo
	switch strings.ToLower(c.logLevel) {
	case "debug":
		level = slog.LevelDebug
	case "info", "":
	case "warn", "warning":
		level = slog.LevelWarn
	case "error", "fatal", "panic":
		level = slog.LevelError
	default:
		return statusError{status: fmt.Sprintf("Unable to parse logging level: %s", c.logLevel), code: 1}
	}
	if c.debug {
		level = slog.LevelDebug
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(c.err, &slog.HandlerOptions{Level: level})))
	return nil
}

// flagErrorFunc turns pflag's errors into Docker's usage error, exit 125.
func flagErrorFunc(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	return statusError{
		status: fmt.Sprintf("%s\n\nUsage:  %s\n\nRun '%s --help' for more information", err, cmd.UseLine(), cmd.CommandPath()),
		code:   125,
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	return statusError{
		status: fmt.Sprintf("berth: unknown command: %s %s\n\nRun '%s --help' for more information", cmd.CommandPath(), name, cmd.CommandPath()),
		code:   1,
	}
}

func pluralArgs(n int) string {
	if n == 1 {
		return "argument"
	}
	return "arguments"
}

// Argument validators mirroring the Docker CLI's wording: "at least" errors
// say "See", the others "Run".
func requiresMinArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return statusError{status: fmt.Sprintf("berth: '%s' requires at least %d %s\n\nUsage:  %s\n\nSee '%s --help' for more information",
			cmd.CommandPath(), n, pluralArgs(n), cmd.UseLine(), cmd.CommandPath()), code: 1}
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return statusError{status: fmt.Sprintf("berth: '%s' requires %d %s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			cmd.CommandPath(), n, pluralArgs(n), cmd.UseLine(), cmd.CommandPath()), code: 1}
	}
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		return statusError{status: fmt.Sprintf("berth: '%s' requires at most %d %s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			cmd.CommandPath(), n, pluralArgs(n), cmd.UseLine(), cmd.CommandPath()), code: 1}
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo {
			return requiresMinArgs(lo)(cmd, args)
		}
		if len(args) > hi {
			return maxArgs(hi)(cmd, args)
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return unknownCommand(cmd, args[0])
	}
	return statusError{status: fmt.Sprintf("berth: '%s' accepts no arguments\n\nUsage:  %s\n\nRun '%s --help' for more information",
		cmd.CommandPath(), cmd.UseLine(), cmd.CommandPath()), code: 1}
}

// collectErrors joins per-target failures the way Docker's multi-target
// commands report them: one line each, exit 1.
func collectErrors(errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "\n"))
}

// setupHelp installs Docker-shaped help output on the whole tree.
func setupHelp(root *cobra.Command) {
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.DisableFlagsInUseLine = true
		cmd.SilenceErrors = true
		cmd.SilenceUsage = true
		// Docker hides -h/--help from the option list; run keeps -h for
		// --hostname, so only the long form exists there.
		fs := cmd.Flags()
		if fs.Lookup("help") == nil {
			if fs.ShorthandLookup("h") == nil {
				fs.BoolP("help", "h", false, "Print usage")
			} else {
				fs.Bool("help", false, "Print usage")
			}
			_ = fs.MarkHidden("help")
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		writeHelp(cmd.OutOrStdout(), cmd)
	})
}

func writeHelp(w io.Writer, cmd *cobra.Command) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:  %s\n\n", cmd.UseLine())
	if cmd.Long != "" {
		b.WriteString(cmd.Long + "\n")
	} else {
		b.WriteString(cmd.Short + "\n")
	}
	if aliases := aliasLine(cmd); aliases != "" {
		fmt.Fprintf(&b, "\nAliases:\n  %s\n", aliases)
	}
	if cmd.HasAvailableLocalFlags() {
		title := "Options"
		if !cmd.HasParent() {
			title = "Global Options"
		}
		fmt.Fprintf(&b, "\n%s:\n%s", title, cmd.LocalFlags().FlagUsagesWrapped(80))
	}
	if cmd.HasAvailableSubCommands() {
		var mgmt, plain []*cobra.Command
		for _, sub := range cmd.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			if sub.HasAvailableSubCommands() {
				mgmt = append(mgmt, sub)
			} else {
				plain = append(plain, sub)
			}
		}
		if len(mgmt) > 0 {
			b.WriteString("\nManagement Commands:\n")
			for _, sub := range mgmt {
				fmt.Fprintf(&b, "  %-11s %s\n", sub.Name(), sub.Short)
			}
		}
		b.WriteString("\nCommands:\n")
		for _, sub := range plain {
			fmt.Fprintf(&b, "  %-11s %s\n", sub.Name(), sub.Short)
		}
		fmt.Fprintf(&b, "\nRun '%s COMMAND --help' for more information on a command.\n", cmd.CommandPath())
	}
	io.WriteString(w, b.String())
}

// aliasLine lists every path that reaches the same command, as Docker's
// help does ("docker container rm, docker container remove, docker rm").
func aliasLine(cmd *cobra.Command) string {
	key := cmd.Annotations["alias-group"]
	if key == "" {
		return ""
	}
	var paths []string
	for _, p := range aliasGroups[key] {
		paths = append(paths, "berth "+p)
	}
	return strings.Join(paths, ", ")
}

var aliasGroups = map[string][]string{
	"run":     {"container run", "run"},
	"create":  {"container create", "create"},
	"start":   {"container start", "start"},
	"stop":    {"container stop", "stop"},
	"kill":    {"container kill", "kill"},
	"restart": {"container restart", "restart"},
	"rm":      {"container rm", "container remove", "rm"},
	"wait":    {"container wait", "wait"},
	"ps":      {"container ls", "container list", "container ps", "ps"},
	"logs":    {"container logs", "logs"},
	"update":  {"container update", "update"},
	"rename":  {"container rename", "rename"},
	"images":  {"image ls", "image list", "images"},
	"import":  {"image import", "import"},
	"tag":     {"image tag", "tag"},
	"rmi":     {"image rm", "image remove", "rmi"},
}

func withAliasGroup(cmd *cobra.Command, group string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations["alias-group"] = group
	return cmd
}

// flagWasSet reports whether the user gave the flag explicitly.
func flagWasSet(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

// userError rewrites err's text with errText, keeping statusErrors as they
// are.
func (c *berthCLI) userError(err error) error {
	var se statusError
	if errors.As(err, &se) {
		return err
	}
	return errors.New(c.errText(err))
}
