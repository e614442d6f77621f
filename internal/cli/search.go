package cli

import (
	"context"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type searchOptions struct {
	limit   int
	filters []string
	format  string
	noTrunc bool
}

func newSearchCommand(c *berthCLI) *cobra.Command {
	var opts searchOptions
	cmd := &cobra.Command{
		Use:   "search [OPTIONS] TERM",
		Short: "Search Docker Hub for images",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSearch(cmd.Context(), c, &opts, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.limit, "limit", 0, "Max number of search results")
	f.StringArrayVarP(&opts.filters, "filter", "f", nil, "Filter output based on conditions provided")
	f.StringVar(&opts.format, "format", "", "Pretty-print search using a Go template")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	return cmd
}

// searchRow is what --format templates see, with Docker's field names.
type searchRow struct {
	r       registry.SearchResult
	noTrunc bool
}

func (s searchRow) Name() string { return s.r.Name }
func (s searchRow) Description() string {
	d := strings.ReplaceAll(s.r.Description, "\n", " ")
	if !s.noTrunc {
		d = ellipsis(d, 45)
	}
	return d
}
func (s searchRow) StarCount() string { return strconv.Itoa(s.r.StarCount) }
func (s searchRow) IsOfficial() string {
	if s.r.IsOfficial {
		return "[OK]"
	}
	return ""
}

var searchHeader = map[string]string{"Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS", "IsOfficial": "OFFICIAL"}

func runSearch(ctx context.Context, c *berthCLI, opts *searchOptions, term string) error {
	fl := client.Filters{}
	for _, f := range opts.filters {
		k, v, _ := strings.Cut(f, "=")
		fl = fl.Add(k, v)
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageSearch(ctx, term, client.ImageSearchOptions{Limit: opts.limit, Filters: fl, RegistryAuth: registryAuthFor(term)})
	if err != nil {
		return err
	}
	format := opts.format
	if format == "" {
		format = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"
	}
	rows := make([]any, 0, len(res.Items))
	for _, r := range res.Items {
		rows = append(rows, searchRow{r: r, noTrunc: opts.noTrunc})
	}
	return listFormat{format: format, header: searchHeader}.write(c.out, rows)
}
