package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/moby/term"
	"github.com/spf13/cobra"
)

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

type saveOptions struct {
	output   string
	platform string
	images   []string
}

func newSaveCommand(c *berthCLI) *cobra.Command {
	var opts saveOptions
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runSave(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.output, "output", "o", "", "Write to a file, instead of STDOUT")
	f.StringVar(&opts.platform, "platform", "", "Save only the given platform variant")
	return cmd
}

func runSave(ctx context.Context, c *berthCLI, opts *saveOptions) error {
	if opts.output == "" && isTerminal(c.out) {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
	}
	var sopts []client.ImageSaveOption
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return err
		}
		sopts = append(sopts, client.ImageSaveWithPlatforms(p))
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageSave(ctx, opts.images, sopts...)
	if err != nil {
		return err
	}
	defer res.Close()
	if opts.output == "" {
		_, err := io.Copy(c.out, res)
		return err
	}
	return copyToFile(opts.output, res)
}

// copyToFile writes r to a temp file beside path and renames it, so a
// failed save leaves no partial archive, as docker save -o.
func copyToFile(path string, r io.Reader) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".docker_temp_")
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("failed to save image: %w", err)
	}
	return nil
}

type loadOptions struct {
	input    string
	quiet    bool
	platform string
}

func newLoadCommand(c *berthCLI) *cobra.Command {
	var opts loadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the load output")
	f.StringVar(&opts.platform, "platform", "", "Load only the given platform variant")
	return cmd
}

func runLoad(ctx context.Context, c *berthCLI, opts *loadOptions) error {
	var in io.Reader = c.in
	if opts.input != "" {
		f, err := os.Open(opts.input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	} else if isTerminal(c.in) {
		return errors.New("requested load from stdin, but stdin is empty")
	}
	// Progress bars only make sense on a terminal, as in Docker.
	quiet := opts.quiet || !isTerminal(c.out)
	lopts := []client.ImageLoadOption{client.ImageLoadWithQuiet(quiet)}
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return err
		}
		lopts = append(lopts, client.ImageLoadWithPlatforms(p))
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageLoad(ctx, in, lopts...)
	if err != nil {
		return err
	}
	defer res.Close()
	return displayJSON(res, c)
}

type historyOptions struct {
	human    bool
	noTrunc  bool
	quiet    bool
	format   string
	platform string
	image    string
}

func newHistoryCommand(c *berthCLI) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image = args[0]
			return runHistory(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.human, "human", "H", true, "Print sizes and dates in human readable format")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&opts.format, "format", "", formatHelp)
	f.StringVar(&opts.platform, "platform", "", "Show history for the given platform")
	return cmd
}

const defaultHistoryFormat = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

var historyHeader = map[string]string{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
	"Size": "SIZE", "Comment": "COMMENT",
}

func runHistory(ctx context.Context, c *berthCLI, opts *historyOptions) error {
	var hopts []client.ImageHistoryOption
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return err
		}
		hopts = append(hopts, client.ImageHistoryWithPlatform(p))
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageHistory(ctx, opts.image, hopts...)
	if err != nil {
		return err
	}
	format := opts.format
	switch {
	case opts.quiet && (format == "" || format == "table"):
		format = "{{.ID}}"
	case format == "" || format == "table":
		format = defaultHistoryFormat
	}
	now := time.Now()
	rows := make([]any, 0, len(res.Items))
	for _, h := range res.Items {
		rows = append(rows, &historyRow{h: h, human: opts.human, trunc: !opts.noTrunc, now: now})
	}
	return listFormat{format: format, header: historyHeader}.write(c.out, rows)
}

// historyRow is one line of `history`, with Docker's column methods.
type historyRow struct {
	h     image.HistoryResponseItem
	human bool
	trunc bool
	now   time.Time
}

func (r *historyRow) ID() string {
	if r.trunc {
		return shortID(r.h.ID)
	}
	return r.h.ID
}

func (r *historyRow) created() time.Time { return time.Unix(r.h.Created, 0) }

func (r *historyRow) CreatedSince() string {
	if !r.human {
		return r.created().Format(time.RFC3339)
	}
	return timeAgo(r.now, r.created())
}

func (r *historyRow) CreatedAt() string { return r.created().Format(time.RFC3339) }

func (r *historyRow) CreatedBy() string {
	by := strings.ReplaceAll(r.h.CreatedBy, "\t", " ")
	if r.trunc {
		return ellipsis(by, 45)
	}
	return by
}

func (r *historyRow) Size() string {
	if r.human {
		return humanSize(r.h.Size)
	}
	return strconv.FormatInt(r.h.Size, 10)
}

func (r *historyRow) Comment() string { return r.h.Comment }
func (r *historyRow) Tags() string    { return strings.Join(r.h.Tags, ", ") }
