package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// rfc3339NanoFixed keeps nanosecond columns aligned, as Docker prints them.
const rfc3339NanoFixed = "2006-01-02T15:04:05.000000000Z07:00"

type eventsOptions struct {
	since   string
	until   string
	format  string
	filters filterOpt
}

func newEventsCommand(c *berthCLI) *cobra.Command {
	var opts eventsOptions
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the server",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvents(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.since, "since", "", "Show all events created since timestamp")
	f.StringVar(&opts.until, "until", "", "Stream events until this timestamp")
	f.VarP(&opts.filters, "filter", "f", "Filter output based on conditions provided")
	f.StringVar(&opts.format, "format", "", inspectFormatHelp)
	return cmd
}

func runEvents(ctx context.Context, c *berthCLI, opts *eventsOptions) error {
	format := opts.format
	if format == "json" {
		format = "{{json .}}"
	}
	var render func(events.Message) error
	if format != "" {
		tmpl, err := parseTemplate(format)
		if err != nil {
			return statusError{status: err.Error(), code: 1}
		}
		render = func(m events.Message) error {
			if err := tmpl.Execute(c.out, m); err != nil {
				return err
			}
			_, err := fmt.Fprintln(c.out)
			return err
		}
	} else {
		render = func(m events.Message) error { return writeEvent(c.out, m) }
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := api.Events(ctx, client.EventsListOptions{Since: opts.since, Until: opts.until, Filters: opts.filters.f})
	for {
		select {
		case m := <-res.Messages:
			if err := render(m); err != nil {
				return err
			}
		case err := <-res.Err:
			if err == nil || err == io.EOF || ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// writeEvent prints Docker's default event line:
// "<time> <type> <action> <id> (k=v, ...)".
func writeEvent(w io.Writer, m events.Message) error {
	var ts time.Time
	switch {
	case m.TimeNano != 0:
		ts = time.Unix(0, m.TimeNano)
	default:
		ts = time.Unix(m.Time, 0)
	}
	var b strings.Builder
	b.WriteString(ts.Format(rfc3339NanoFixed))
	fmt.Fprintf(&b, " %s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := make([]string, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, k+"="+m.Actor.Attributes[k])
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(attrs, ", "))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
