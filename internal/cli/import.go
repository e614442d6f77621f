package cli

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/spf13/cobra"
)

type importOptions struct {
	source    string
	reference string
	changes   []string
	message   string
	platform  string
}

func newImportCommand(c *berthCLI) *cobra.Command {
	var opts importOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source = args[0]
			if len(args) > 1 {
				opts.reference = args[1]
			}
			return runImport(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	listVarP(f, &opts.changes, "change", "c", "Apply Dockerfile instruction to the created image")
	f.StringVarP(&opts.message, "message", "m", "", "Set commit message for imported image")
	f.StringVar(&opts.platform, "platform", "", "Set platform if server is multi-platform capable")
	return withAliasGroup(cmd, "import")
}

func runImport(ctx context.Context, c *berthCLI, opts *importOptions) error {
	var src client.ImageImportSource
	switch {
	case opts.source == "-":
		src = client.ImageImportSource{Source: c.in, SourceName: "-"}
	case strings.HasPrefix(opts.source, "http://") || strings.HasPrefix(opts.source, "https://"):
		src = client.ImageImportSource{SourceName: opts.source}
	default:
		f, err := os.Open(opts.source)
		if err != nil {
			return err
		}
		defer f.Close()
		src = client.ImageImportSource{Source: f, SourceName: "-"}
	}
	iopts := client.ImageImportOptions{Message: opts.message, Changes: opts.changes}
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return err
		}
		iopts.Platform = p
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageImport(ctx, src, opts.reference, iopts)
	if err != nil {
		return err
	}
	defer res.Close()
	return displayJSON(res, c)
}

// displayJSON prints a daemon progress stream (import, pull) as plain
// lines, returning the first error the stream reports.
func displayJSON(r io.Reader, c *berthCLI) error {
	return jsonmessage.DisplayJSONMessagesStream(r, c.out, 0, false, nil)
}
