package cli

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/spf13/cobra"
)

type historyOptions struct {
	human, noTrunc, quiet bool
	format                string
}

func newHistoryCommand(c *berthCLI) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHistory(cmd.Context(), c, args[0], &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.human, "human", "H", true, "Print sizes and dates in human readable format")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template")
	return withAliasGroup(cmd, "history")
}

func runHistory(ctx context.Context, c *berthCLI, ref string, opts *historyOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageHistory(ctx, ref)
	if err != nil {
		return err
	}
	format := opts.format
	switch {
	case opts.quiet:
		format = "{{.ID}}"
	case format == "":
		format = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	}
	now := time.Now()
	var rows []any
	for _, h := range res.Items {
		rows = append(rows, &historyRow{h: h, opts: opts, now: now})
	}
	return listFormat{format: format, header: historyHeader}.write(c.out, rows)
}

var historyHeader = map[string]string{
	"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
	"Size": "SIZE", "Comment": "COMMENT",
}

// historyRow is one line of `history`, with Docker's columns.
type historyRow struct {
	h    image.HistoryResponseItem
	opts *historyOptions
	now  time.Time
}

func (r *historyRow) ID() string {
	if r.opts.noTrunc || r.h.ID == "<missing>" {
		return r.h.ID
	}
	return shortID(r.h.ID)
}

func (r *historyRow) CreatedSince() string {
	if !r.opts.human {
		return r.CreatedAt()
	}
	return timeAgo(r.now, time.Unix(r.h.Created, 0))
}

func (r *historyRow) CreatedAt() string { return time.Unix(r.h.Created, 0).Format(time.RFC3339) }

func (r *historyRow) CreatedBy() string {
	by := strings.ReplaceAll(r.h.CreatedBy, "\t", " ")
	if r.opts.noTrunc {
		return by
	}
	return ellipsis(by, 45)
}

func (r *historyRow) Size() string {
	if !r.opts.human {
		return strconv.FormatInt(r.h.Size, 10)
	}
	return humanSize(r.h.Size)
}

func (r *historyRow) Comment() string { return r.h.Comment }
