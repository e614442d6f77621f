package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type infoOptions struct {
	format string
}

// infoView is the root of `info --format` templates: the daemon's fields
// plus the client section, as in Docker.
type infoView struct {
	*system.Info
	ClientInfo   clientInfo
	ServerErrors []string `json:",omitempty"`
}

type clientInfo struct {
	Version string
	Context string
	Debug   bool
}

func newInfoCommand(c *berthCLI) *cobra.Command {
	var opts infoOptions
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInfo(cmd.Context(), c, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	return cmd
}

func runInfo(ctx context.Context, c *berthCLI, opts *infoOptions) error {
	view := infoView{ClientInfo: clientInfo{Version: Version, Context: "default", Debug: c.debug}}
	api, err := c.client()
	var serverErr error
	if err != nil {
		serverErr = err
	} else if res, err := api.Info(ctx, client.InfoOptions{}); err != nil {
		serverErr = err
	} else {
		view.Info = &res.Info
	}
	if serverErr != nil {
		view.ServerErrors = []string{serverErr.Error()}
	}
	if opts.format != "" {
		f := opts.format
		if f == "json" {
			f = "{{json .}}"
		}
		tmpl, err := parseTemplate(f)
		if err != nil {
			return statusError{status: err.Error(), code: 1}
		}
		if err := tmpl.Execute(c.out, view); err != nil {
			return err
		}
		fmt.Fprintln(c.out)
		return nil
	}
	writeInfo(c.out, view)
	if serverErr != nil {
		return serverErr
	}
	return nil
}

func writeInfo(w io.Writer, v infoView) {
	fmt.Fprintf(w, "Client:\n Version:    %s\n Context:    %s\n Debug Mode: %t\n", v.ClientInfo.Version, v.ClientInfo.Context, v.ClientInfo.Debug)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Server:")
	i := v.Info
	if i == nil {
		return
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p(" Containers: %d", i.Containers)
	p("  Running: %d", i.ContainersRunning)
	p("  Paused: %d", i.ContainersPaused)
	p("  Stopped: %d", i.ContainersStopped)
	p(" Images: %d", i.Images)
	p(" Server Version: %s", i.ServerVersion)
	p(" Storage Driver: %s", i.Driver)
	for _, kv := range i.DriverStatus {
		p("  %s: %s", kv[0], kv[1])
	}
	p(" Logging Driver: %s", i.LoggingDriver)
	p(" Cgroup Driver: %s", i.CgroupDriver)
	p(" Cgroup Version: %s", i.CgroupVersion)
	if len(i.Runtimes) > 0 {
		var names []string
		for name := range i.Runtimes {
			names = append(names, name)
		}
		p(" Runtimes: %s", strings.Join(sortStrings(names), " "))
	}
	p(" Default Runtime: %s", i.DefaultRuntime)
	if i.InitBinary != "" {
		p(" Init Binary: %s", i.InitBinary)
	}
	if len(i.SecurityOptions) > 0 {
		p(" Security Options:")
		for _, o := range i.SecurityOptions {
			p("  %s", strings.TrimPrefix(o, "name="))
		}
	}
	p(" Kernel Version: %s", i.KernelVersion)
	p(" Operating System: %s", i.OperatingSystem)
	p(" OSType: %s", i.OSType)
	p(" Architecture: %s", i.Architecture)
	p(" CPUs: %d", i.NCPU)
	p(" Total Memory: %s", units.BytesSize(float64(i.MemTotal)))
	p(" Name: %s", i.Name)
	p(" ID: %s", i.ID)
	p(" Docker Root Dir: %s", i.DockerRootDir)
	p(" Debug Mode: %t", i.Debug)
	p(" Experimental: %t", i.ExperimentalBuild)
	p(" Live Restore Enabled: %t", i.LiveRestoreEnabled)
	for _, warn := range i.Warnings {
		fmt.Fprintln(w)
		fmt.Fprintln(w, warn)
	}
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
