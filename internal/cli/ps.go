package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

const defaultPsFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

type psOptions struct {
	all     bool
	quiet   bool
	size    bool
	last    int
	latest  bool
	noTrunc bool
	format  string
	filters filterOpt
}

// filterOpt collects --filter key=value pairs.
type filterOpt struct{ f client.Filters }

func (o *filterOpt) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("bad format of filter (expected name=value)")
	}
	if o.f == nil {
		o.f = client.Filters{}
	}
	o.f.Add(strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v))
	return nil
}

func (o *filterOpt) String() string { return "" }
func (o *filterOpt) Type() string   { return "filter" }

func newPsCommand(c *berthCLI) *cobra.Command {
	return withAliasGroup(psCommand(c, "ps [OPTIONS]"), "ps")
}

func psCommand(c *berthCLI, use string) *cobra.Command {
	var opts psOptions
	cmd := &cobra.Command{
		Use:   use,
		Short: "List containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPs(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	f.VarP(&opts.filters, "filter", "f", "Filter output based on conditions provided")
	f.StringVar(&opts.format, "format", "", formatHelp)
	f.IntVarP(&opts.last, "last", "n", -1, "Show n last created containers (includes all states)")
	f.BoolVarP(&opts.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	return cmd
}

const formatHelp = "Format output using a custom template:\n" +
	"'table':            Print output in table format with column headers (default)\n" +
	"'table TEMPLATE':   Print output in table format using the given Go template\n" +
	"'json':             Print in JSON format\n" +
	"'TEMPLATE':         Print output using the given Go template.\n" +
	"Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"

func runPs(ctx context.Context, c *berthCLI, opts *psOptions) error {
	format := opts.format
	switch {
	case format == "" && opts.quiet, format == "table" && opts.quiet:
		format = "{{.ID}}"
	case format == "", format == "table":
		format = defaultPsFormat
		if opts.size {
			format += "\t{{.Size}}"
		}
	}
	last := opts.last
	if opts.latest && last == -1 {
		last = 1
	}
	listOpts := client.ContainerListOptions{
		All:     opts.all,
		Limit:   last,
		Size:    opts.size || strings.Contains(format, ".Size") || format == "json",
		Filters: opts.filters.f,
	}
	if listOpts.Limit <= 0 {
		listOpts.Limit = 0
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ContainerList(ctx, listOpts)
	if err != nil {
		return err
	}
	return writePs(c, res.Items, format, !opts.noTrunc, time.Now())
}

func writePs(c *berthCLI, items []container.Summary, format string, trunc bool, now time.Time) error {
	rows := make([]any, 0, len(items))
	for _, it := range items {
		rows = append(rows, &psRow{c: it, trunc: trunc, now: now})
	}
	return listFormat{format: format, header: psHeader}.write(c.out, rows)
}

var psHeader = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
	"RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
	"Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
	"LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
}

// psRow is what a ps template sees as "."; its methods are the columns.
type psRow struct {
	c     container.Summary
	trunc bool
	now   time.Time
}

func (r *psRow) ID() string {
	if r.trunc {
		return shortID(r.c.ID)
	}
	return r.c.ID
}

func (r *psRow) Names() string {
	var names []string
	for _, n := range r.c.Names {
		names = append(names, strings.TrimPrefix(n, "/"))
	}
	if r.trunc {
		// Link names ("other/alias") are hidden unless --no-trunc.
		for _, n := range names {
			if !strings.Contains(n, "/") {
				return n
			}
		}
	}
	return strings.Join(names, ",")
}

func (r *psRow) Image() string {
	img := r.c.Image
	if img == "" {
		return "<no image>"
	}
	if r.trunc && r.c.ImageID != "" && shortID(r.c.ImageID) == shortID(img) {
		return shortID(img)
	}
	return img
}

func (r *psRow) Command() string {
	cmd := r.c.Command
	if r.trunc {
		cmd = ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}

func (r *psRow) CreatedAt() string { return time.Unix(r.c.Created, 0).String() }

func (r *psRow) RunningFor() string { return timeAgo(r.now, time.Unix(r.c.Created, 0)) }

func (r *psRow) Ports() string { return displayPorts(r.c.Ports) }

func (r *psRow) State() string { return string(r.c.State) }

func (r *psRow) Status() string { return r.c.Status }

func (r *psRow) Size() string {
	if r.c.SizeRw == 0 && r.c.SizeRootFs == 0 {
		return "0B"
	}
	s := humanSize(r.c.SizeRw)
	if r.c.SizeRootFs > 0 {
		s = fmt.Sprintf("%s (virtual %s)", s, humanSize(r.c.SizeRootFs))
	}
	return s
}

func (r *psRow) Labels() string {
	var kv []string
	for k, v := range r.c.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func (r *psRow) Label(name string) string { return r.c.Labels[name] }

func (r *psRow) Mounts() string {
	var out []string
	for _, m := range r.c.Mounts {
		name := m.Name
		if name == "" {
			name = m.Source
		}
		if r.trunc {
			name = ellipsis(name, 15)
		}
		out = append(out, name)
	}
	return strings.Join(out, ",")
}

func (r *psRow) LocalVolumes() string {
	n := 0
	for _, m := range r.c.Mounts {
		if m.Driver == "local" {
			n++
		}
	}
	return strconv.Itoa(n)
}

func (r *psRow) Networks() string {
	if r.c.NetworkSettings == nil {
		return ""
	}
	var names []string
	for n := range r.c.NetworkSettings.Networks {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func (r *psRow) Platform() string {
	if d := r.c.ImageManifestDescriptor; d != nil && d.Platform != nil {
		return d.Platform.OS + "/" + d.Platform.Architecture
	}
	return ""
}

// MarshalJSON gives `--format json` the same string-valued object Docker
// prints.
func (r *psRow) MarshalJSON() ([]byte, error) {
	return marshalNoEscape(map[string]string{
		"Command": r.Command(), "CreatedAt": r.CreatedAt(), "ID": r.ID(), "Image": r.Image(),
		"Labels": r.Labels(), "LocalVolumes": r.LocalVolumes(), "Mounts": r.Mounts(), "Names": r.Names(),
		"Networks": r.Networks(), "Ports": r.Ports(), "RunningFor": r.RunningFor(), "Size": r.Size(),
		"State": r.State(), "Status": r.Status(),
	})
}

// displayPorts renders published ports as "0.0.0.0:8080->80/tcp" and
// exposed ones as "80/tcp", sorted, collapsing consecutive ranges.
func displayPorts(ports []container.PortSummary) string {
	type key struct {
		ip    string
		proto string
		pub   bool
	}
	type span struct {
		k                  key
		priv, privEnd, pub int
	}
	ps := append([]container.PortSummary(nil), ports...)
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.IP != b.IP {
			return a.IP.Less(b.IP)
		}
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		return a.PublicPort < b.PublicPort
	})
	var spans []span
	for _, p := range ps {
		ip := ""
		if p.IP.IsValid() {
			if p.IP.Is6() {
				ip = "[" + p.IP.String() + "]"
			} else {
				ip = p.IP.String()
			}
		}
		k := key{ip: ip, proto: p.Type, pub: p.PublicPort != 0}
		if n := len(spans); n > 0 {
			last := &spans[n-1]
			next := last.privEnd + 1
			if last.k == k && int(p.PrivatePort) == next &&
				(!k.pub || int(p.PublicPort) == last.pub+(next-last.priv)) {
				last.privEnd = next
				continue
			}
			if last.k == k && int(p.PrivatePort) == last.privEnd && (!k.pub || int(p.PublicPort) == last.pub+(last.privEnd-last.priv)) {
				continue // duplicate entry
			}
		}
		spans = append(spans, span{k: k, priv: int(p.PrivatePort), privEnd: int(p.PrivatePort), pub: int(p.PublicPort)})
	}
	var out []string
	for _, s := range spans {
		priv := strconv.Itoa(s.priv)
		if s.privEnd != s.priv {
			priv += "-" + strconv.Itoa(s.privEnd)
		}
		if !s.k.pub {
			out = append(out, priv+"/"+s.k.proto)
			continue
		}
		pub := strconv.Itoa(s.pub)
		if s.privEnd != s.priv {
			pub += "-" + strconv.Itoa(s.pub+s.privEnd-s.priv)
		}
		host := pub
		if s.k.ip != "" {
			host = s.k.ip + ":" + pub
		}
		out = append(out, host+"->"+priv+"/"+s.k.proto)
	}
	return strings.Join(out, ", ")
}
