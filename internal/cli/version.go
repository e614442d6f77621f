package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sort"
	"text/tabwriter"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type versionOptions struct {
	format string
}

// clientVersion and serverVersion are what `version --format` templates
// see as .Client and .Server, with Docker's field names.
type clientVersion struct {
	Platform          struct{ Name string } `json:",omitempty"`
	Version           string
	APIVersion        string `json:"ApiVersion"`
	DefaultAPIVersion string `json:"DefaultAPIVersion,omitempty"`
	GitCommit         string
	GoVersion         string
	Os                string
	Arch              string
	BuildTime         string `json:",omitempty"`
	Context           string
}

type serverComponent struct {
	Name    string
	Version string
	Details map[string]string `json:",omitempty"`
}

type serverVersion struct {
	Platform      struct{ Name string }
	Components    []serverComponent
	Version       string
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:"MinAPIVersion,omitempty"`
	Os            string
	Arch          string
	Experimental  bool `json:",omitempty"`
}

type versionInfo struct {
	Client clientVersion
	Server *serverVersion
}

func newVersionCommand(c *berthCLI) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the berth version information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), c, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	return cmd
}

func runVersion(ctx context.Context, c *berthCLI, opts *versionOptions) error {
	info := versionInfo{Client: clientVersion{
		Version:   Version,
		GitCommit: GitCommit,
		GoVersion: runtime.Version(),
		Os:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Context:   "default",
	}}
	api, err := c.client()
	var serverErr error
	if err != nil {
		serverErr = err
	} else {
		sv, err := api.ServerVersion(ctx, client.ServerVersionOptions{})
		info.Client.APIVersion = api.ClientVersion()
		if err != nil {
			serverErr = err
		} else {
			s := &serverVersion{
				Version: sv.Version, APIVersion: sv.APIVersion, MinAPIVersion: sv.MinAPIVersion,
				Os: sv.Os, Arch: sv.Arch, Experimental: sv.Experimental,
			}
			s.Platform.Name = sv.Platform.Name
			for _, comp := range sv.Components {
				s.Components = append(s.Components, serverComponent{Name: comp.Name, Version: comp.Version, Details: comp.Details})
			}
			info.Server = s
		}
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
		if err := tmpl.Execute(c.out, info); err != nil {
			return err
		}
		fmt.Fprintln(c.out)
	} else {
		writeVersion(c.out, info)
	}
	return serverErr
}

func writeVersion(w io.Writer, v versionInfo) {
	tw := tabwriter.NewWriter(w, 20, 1, 1, ' ', 0)
	fmt.Fprintf(tw, "Client:\n")
	fmt.Fprintf(tw, " Version:\t%s\n", v.Client.Version)
	if v.Client.APIVersion != "" {
		fmt.Fprintf(tw, " API version:\t%s\n", v.Client.APIVersion)
	}
	fmt.Fprintf(tw, " Go version:\t%s\n", v.Client.GoVersion)
	fmt.Fprintf(tw, " Git commit:\t%s\n", v.Client.GitCommit)
	fmt.Fprintf(tw, " OS/Arch:\t%s/%s\n", v.Client.Os, v.Client.Arch)
	fmt.Fprintf(tw, " Context:\t%s\n", v.Client.Context)
	if s := v.Server; s != nil {
		name := s.Platform.Name
		if name == "" {
			name = "berth"
		}
		fmt.Fprintf(tw, "\nServer: %s\n", name)
		for _, comp := range s.Components {
			fmt.Fprintf(tw, " %s:\n", comp.Name)
			if comp.Name == "Engine" {
				fmt.Fprintf(tw, "  Version:\t%s\n", comp.Version)
				api := comp.Details["ApiVersion"]
				if min := comp.Details["MinAPIVersion"]; min != "" {
					api += " (minimum version " + min + ")"
				}
				fmt.Fprintf(tw, "  API version:\t%s\n", api)
				fmt.Fprintf(tw, "  Go version:\t%s\n", comp.Details["GoVersion"])
				fmt.Fprintf(tw, "  Git commit:\t%s\n", comp.Details["GitCommit"])
				fmt.Fprintf(tw, "  Built:\t%s\n", comp.Details["BuildTime"])
				fmt.Fprintf(tw, "  OS/Arch:\t%s/%s\n", comp.Details["Os"], comp.Details["Arch"])
				fmt.Fprintf(tw, "  Experimental:\t%s\n", comp.Details["Experimental"])
				continue
			}
			fmt.Fprintf(tw, "  Version:\t%s\n", comp.Version)
			keys := make([]string, 0, len(comp.Details))
			for k := range comp.Details {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(tw, "  %s:\t%s\n", k, comp.Details[k])
			}
		}
		if len(s.Components) == 0 {
			fmt.Fprintf(tw, " Engine:\n")
			fmt.Fprintf(tw, "  Version:\t%s\n", s.Version)
			api := s.APIVersion
			if s.MinAPIVersion != "" {
				api += " (minimum version " + s.MinAPIVersion + ")"
			}
			fmt.Fprintf(tw, "  API version:\t%s\n", api)
			fmt.Fprintf(tw, "  OS/Arch:\t%s/%s\n", s.Os, s.Arch)
			fmt.Fprintf(tw, "  Experimental:\t%t\n", s.Experimental)
		}
	}
	_ = tw.Flush()
}
