package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type createOptions struct {
	name     string
	pull     string
	platform string
	quiet    bool
}

func newCreateCommand(c *berthCLI) *cobra.Command {
	var opts createOptions
	copts := &containerOptions{}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			copts.image = args[0]
			copts.args = args[1:]
			return runCreate(cmd.Context(), c, cmd.Flags(), &opts, copts)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVar(&opts.name, "name", "", "Assign a name to the container")
	f.StringVar(&opts.pull, "pull", "missing", `Pull image before creating ("always", "|missing", "never")`)
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the pull output")
	f.StringVar(&opts.platform, "platform", "", "Set platform if server is multi-platform capable")
	addContainerFlags(f, copts)
	return withAliasGroup(cmd, "create")
}

func runCreate(ctx context.Context, c *berthCLI, flags *pflag.FlagSet, opts *createOptions, copts *containerOptions) error {
	cfg, err := parseContainerOptions(flags, copts)
	if err != nil {
		return flagStatusError("create", err)
	}
	api, err := c.client()
	if err != nil {
		return runStatusError("create", c.userError(err))
	}
	id, err := createContainer(ctx, c, api, opts, cfg)
	if err != nil {
		// Unlike run, Docker's create reports daemon errors plainly, exit 1.
		return c.userError(err)
	}
	fmt.Fprintln(c.out, id)
	return nil
}

// flagStatusError is a flag that does not parse: always 125, as the
// Docker CLI reports it, whatever the message says.
func flagStatusError(cmd string, err error) error {
	return statusError{status: fmt.Sprintf("berth: %s\n\nRun 'berth %s --help' for more information", err, cmd), code: 125}
}

// runStatusError mirrors the Docker CLI's mapping of run/create failures:
// 127 when the command is missing, 126 when it cannot be invoked, otherwise
// 125, each with the help hint.
func runStatusError(cmd string, err error) error {
	var se statusError
	if errors.As(err, &se) {
		return err
	}
	msg := err.Error()
	status := fmt.Sprintf("berth: %s\n\nRun 'berth %s --help' for more information", msg, cmd)
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") ||
		strings.Contains(msg, "system cannot find the file specified"):
		return statusError{status: status, code: 127}
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "is a directory"):
		return statusError{status: status, code: 126}
	}
	return statusError{status: status, code: 125}
}

// createContainer creates the container, pulling the image first when the
// pull policy asks for it or the daemon does not have it.
func createContainer(ctx context.Context, c *berthCLI, api *client.Client, opts *createOptions, cfg *containerConfig) (string, error) {
	var platform *ocispec.Platform
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return "", err
		}
		platform = &p
	}
	switch opts.pull {
	case "", "missing", "always", "never":
	default:
		return "", fmt.Errorf("invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", opts.pull)
	}
	imageRef := cfg.Config.Image
	if opts.pull == "always" {
		if err := pullImage(ctx, c, api, imageRef, opts, platform); err != nil {
			return "", err
		}
	}
	create := func() (client.ContainerCreateResult, error) {
		return api.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config:           cfg.Config,
			HostConfig:       cfg.HostConfig,
			NetworkingConfig: cfg.NetworkingConfig,
			Platform:         platform,
			Name:             opts.name,
		})
	}
	res, err := create()
	if err != nil && cerrdefs.IsNotFound(err) && opts.pull != "never" && opts.pull != "always" && isImageNotFound(err) {
		fmt.Fprintf(c.err, "Unable to find image '%s' locally\n", familiarRef(imageRef))
		if perr := pullImage(ctx, c, api, imageRef, opts, platform); perr != nil {
			return "", perr
		}
		res, err = create()
	}
	if err != nil {
		return "", err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(c.err, "WARNING: %s\n", w)
	}
	if cfg.HostConfig.ContainerIDFile != "" {
		if err := os.WriteFile(cfg.HostConfig.ContainerIDFile, []byte(res.ID), 0o644); err != nil {
			return res.ID, fmt.Errorf("failed to write the container ID to the file: %w", err)
		}
	}
	return res.ID, nil
}

// isImageNotFound tells an image 404 from other 404s (a missing network,
// say), which must not trigger a pull.
func isImageNotFound(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no such image") || strings.Contains(msg, "image") && strings.Contains(msg, "not found")
}

func familiarRef(s string) string {
	ref, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return s
	}
	return reference.FamiliarString(reference.TagNameOnly(ref))
}

func pullImage(ctx context.Context, c *berthCLI, api *client.Client, ref string, opts *createOptions, platform *ocispec.Platform) error {
	out := c.err
	if opts.quiet {
		out = io.Discard
	}
	return pullStream(ctx, c, api, ref, false, platform, out)
}

func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	var p ocispec.Platform
	switch len(parts) {
	case 1:
		p.OS = parts[0]
	case 2:
		p.OS, p.Architecture = parts[0], parts[1]
	case 3:
		p.OS, p.Architecture, p.Variant = parts[0], parts[1], parts[2]
	default:
		return p, fmt.Errorf("%q: invalid platform format", s)
	}
	if p.OS == "" {
		return p, fmt.Errorf("%q: invalid platform format", s)
	}
	return p, nil
}
