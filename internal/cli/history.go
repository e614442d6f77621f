package cli

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

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
	format := listTemplate(opts.format, opts.quiet, "{{.ID}}", defaultHistoryFormat)
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
