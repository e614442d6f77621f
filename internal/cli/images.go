package cli

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

const (
	defaultImagesFormat        = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	defaultImagesDigestsFormat = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
)

type imagesOptions struct {
	matchName string
	all       bool
	quiet     bool
	noTrunc   bool
	digests   bool
	format    string
	filters   filterOpt
}

func newImagesCommand(c *berthCLI) *cobra.Command {
	return withAliasGroup(imagesCommand(c, "images [OPTIONS] [REPOSITORY[:TAG]]"), "images")
}

func imagesCommand(c *berthCLI, use string) *cobra.Command {
	var opts imagesOptions
	cmd := &cobra.Command{
		Use:   use,
		Short: "List images",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.matchName = args[0]
			}
			return runImages(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Show all images (default hides intermediate images)")
	f.BoolVar(&opts.digests, "digests", false, "Show digests")
	f.VarP(&opts.filters, "filter", "f", "Filter output based on conditions provided")
	f.StringVar(&opts.format, "format", "", formatHelp)
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	return cmd
}

func runImages(ctx context.Context, c *berthCLI, opts *imagesOptions) error {
	filters := opts.filters.f
	if opts.matchName != "" {
		if filters == nil {
			filters = client.Filters{}
		}
		filters.Add("reference", opts.matchName)
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ImageList(ctx, client.ImageListOptions{All: opts.all, Filters: filters})
	if err != nil {
		return err
	}
	def := defaultImagesFormat
	if opts.digests {
		def = defaultImagesDigestsFormat
	}
	format := listTemplate(opts.format, opts.quiet, "{{.ID}}", def)
	return writeImages(c, res.Items, format, !opts.noTrunc, time.Now())
}

func writeImages(c *berthCLI, items []image.Summary, format string, trunc bool, now time.Time) error {
	var rows []any
	for _, img := range items {
		for _, r := range imageRows(img) {
			r.trunc, r.now = trunc, now
			rows = append(rows, r)
		}
	}
	return listFormat{format: format, header: imagesHeader}.write(c.out, rows)
}

var imagesHeader = map[string]string{
	"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
	"SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "SIZE",
}

// imageRow is one line of `images`: an image appears once per repository
// and tag, or once as <none>:<none> when it has neither.
type imageRow struct {
	img    image.Summary
	repo   string
	tag    string
	digest string
	trunc  bool
	now    time.Time
}

func imageRows(img image.Summary) []*imageRow {
	tags := map[string][]string{}
	digests := map[string][]string{}
	for _, s := range img.RepoTags {
		ref, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			continue
		}
		if nt, ok := ref.(reference.NamedTagged); ok {
			name := reference.FamiliarName(ref)
			tags[name] = append(tags[name], nt.Tag())
		}
	}
	for _, s := range img.RepoDigests {
		ref, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			continue
		}
		if cn, ok := ref.(reference.Canonical); ok {
			name := reference.FamiliarName(ref)
			digests[name] = append(digests[name], cn.Digest().String())
		}
	}
	var rows []*imageRow
	for _, repo := range sortedKeys(tags) {
		d := "<none>"
		if ds := digests[repo]; len(ds) > 0 {
			d = ds[0]
		}
		delete(digests, repo)
		for _, t := range tags[repo] {
			rows = append(rows, &imageRow{img: img, repo: repo, tag: t, digest: d})
		}
	}
	for _, repo := range sortedKeys(digests) {
		for _, d := range digests[repo] {
			rows = append(rows, &imageRow{img: img, repo: repo, tag: "<none>", digest: d})
		}
	}
	if len(rows) == 0 {
		rows = append(rows, &imageRow{img: img, repo: "<none>", tag: "<none>", digest: "<none>"})
	}
	return rows
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (r *imageRow) Repository() string { return r.repo }
func (r *imageRow) Tag() string        { return r.tag }
func (r *imageRow) Digest() string     { return r.digest }

func (r *imageRow) ID() string {
	if r.trunc {
		return shortID(r.img.ID)
	}
	return r.img.ID
}

func (r *imageRow) CreatedSince() string {
	if r.img.Created == 0 {
		return "N/A"
	}
	return timeAgo(r.now, time.Unix(r.img.Created, 0))
}

func (r *imageRow) CreatedAt() string { return time.Unix(r.img.Created, 0).String() }
func (r *imageRow) Size() string      { return humanSize(r.img.Size) }
func (r *imageRow) VirtualSize() string {
	return humanSize(r.img.Size)
}

func (r *imageRow) SharedSize() string {
	if r.img.SharedSize == -1 {
		return "N/A"
	}
	return humanSize(r.img.SharedSize)
}

func (r *imageRow) UniqueSize() string {
	if r.img.SharedSize == -1 {
		return "N/A"
	}
	return humanSize(r.img.Size - r.img.SharedSize)
}

func (r *imageRow) Containers() string {
	if r.img.Containers == -1 {
		return "N/A"
	}
	return strconv.FormatInt(r.img.Containers, 10)
}

func (r *imageRow) MarshalJSON() ([]byte, error) {
	return marshalNoEscape(map[string]string{
		"Containers": r.Containers(), "CreatedAt": r.CreatedAt(), "CreatedSince": r.CreatedSince(),
		"Digest": r.Digest(), "ID": r.ID(), "Repository": r.Repository(), "SharedSize": r.SharedSize(),
		"Size": r.Size(), "Tag": r.Tag(), "UniqueSize": r.UniqueSize(), "VirtualSize": r.VirtualSize(),
	})
}
