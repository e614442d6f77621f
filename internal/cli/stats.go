package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type statsOptions struct {
	all        bool
	noStream   bool
	noTrunc    bool
	format     string
	containers []string
}

const defaultStatsFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

var statsHeader = map[string]string{
	"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
	"MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
	"BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

func newStatsCommand(c *berthCLI) *cobra.Command {
	var opts statsOptions
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runStats(cmd.Context(), c, &opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&opts.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template")
	return withAliasGroup(cmd, "stats")
}

// statsEntry is one container's line: the figures the Docker CLI derives
// from a StatsResponse.
type statsEntry struct {
	container        string // as the user named it, or the ID when listed
	id, name         string
	cpuPerc          float64
	mem, memLimit    float64
	memPerc          float64
	netRx, netTx     float64
	blkRead, blkWrit float64
	pids             uint64
	invalid          bool // no sample could be read
	trunc            bool
}

// statsEntryFrom computes the displayed figures the way the Docker CLI does:
// CPU % from the delta to the previous sample, memory without the page
// cache's inactive files.
func statsEntryFrom(name string, s *container.StatsResponse) statsEntry {
	e := statsEntry{container: name, id: s.ID, name: strings.TrimPrefix(s.Name, "/")}
	pre, cur := s.PreCPUStats, s.CPUStats
	cpuDelta := float64(cur.CPUUsage.TotalUsage) - float64(pre.CPUUsage.TotalUsage)
	sysDelta := float64(cur.SystemUsage) - float64(pre.SystemUsage)
	online := float64(cur.OnlineCPUs)
	if online == 0 {
		online = float64(len(cur.CPUUsage.PercpuUsage))
	}
	if sysDelta > 0 && cpuDelta > 0 {
		e.cpuPerc = cpuDelta / sysDelta * online * 100
	}
	m := s.MemoryStats
	e.mem = float64(m.Usage)
	if v, ok := m.Stats["total_inactive_file"]; ok && v < m.Usage {
		e.mem = float64(m.Usage - v)
	} else if v := m.Stats["inactive_file"]; v < m.Usage {
		e.mem = float64(m.Usage - v)
	}
	e.memLimit = float64(m.Limit)
	if e.memLimit != 0 {
		e.memPerc = e.mem / e.memLimit * 100
	}
	for _, n := range s.Networks {
		e.netRx += float64(n.RxBytes)
		e.netTx += float64(n.TxBytes)
	}
	for _, b := range s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(b.Op) {
		case "read":
			e.blkRead += float64(b.Value)
		case "write":
			e.blkWrit += float64(b.Value)
		}
	}
	e.pids = s.PidsStats.Current
	return e
}

func (e *statsEntry) Container() string { return e.container }

func (e *statsEntry) ID() string {
	if e.trunc {
		return shortID(e.id)
	}
	return e.id
}

func (e *statsEntry) Name() string {
	if e.name == "" {
		return "--"
	}
	return e.name
}

func (e *statsEntry) CPUPerc() string {
	if e.invalid {
		return "--"
	}
	return fmt.Sprintf("%.2f%%", e.cpuPerc)
}

func (e *statsEntry) MemUsage() string {
	if e.invalid {
		return "-- / --"
	}
	return units.BytesSize(e.mem) + " / " + units.BytesSize(e.memLimit)
}

func (e *statsEntry) MemPerc() string {
	if e.invalid {
		return "--"
	}
	return fmt.Sprintf("%.2f%%", e.memPerc)
}

func (e *statsEntry) NetIO() string {
	if e.invalid {
		return "--"
	}
	return units.HumanSizeWithPrecision(e.netRx, 3) + " / " + units.HumanSizeWithPrecision(e.netTx, 3)
}

func (e *statsEntry) BlockIO() string {
	if e.invalid {
		return "--"
	}
	return units.HumanSizeWithPrecision(e.blkRead, 3) + " / " + units.HumanSizeWithPrecision(e.blkWrit, 3)
}

func (e *statsEntry) PIDs() string {
	if e.invalid {
		return "--"
	}
	return fmt.Sprint(e.pids)
}

func (e *statsEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Container": e.Container(), "ID": e.ID(), "Name": e.Name(), "CPUPerc": e.CPUPerc(),
		"MemUsage": e.MemUsage(), "MemPerc": e.MemPerc(), "NetIO": e.NetIO(),
		"BlockIO": e.BlockIO(), "PIDs": e.PIDs(),
	})
}

func runStats(ctx context.Context, c *berthCLI, opts *statsOptions) error {
	format := opts.format
	if format == "" || format == "table" {
		format = defaultStatsFormat
	}
	if _, err := parseTemplate(listFormat{format: format}.body()); err != nil {
		return err
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	if opts.noStream {
		return statsOnce(ctx, c, api, opts, format)
	}
	return statsStream(ctx, c, api, opts, format)
}

// statsTargets is what to show: the named containers, or the listed ones
// (running, or all with -a) under their short ID.
func statsTargets(ctx context.Context, api *client.Client, opts *statsOptions) ([]string, error) {
	if len(opts.containers) > 0 {
		return opts.containers, nil
	}
	res, err := api.ContainerList(ctx, client.ContainerListOptions{All: opts.all})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(res.Items))
	for _, it := range res.Items {
		names = append(names, shortID(it.ID))
	}
	return names, nil
}

func statsOnce(ctx context.Context, c *berthCLI, api *client.Client, opts *statsOptions, format string) error {
	names, err := statsTargets(ctx, api, opts)
	if err != nil {
		return err
	}
	entries := make([]*statsEntry, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries[i], errs[i] = statsSample(ctx, api, name)
		}()
	}
	wg.Wait()
	var rows []any
	var msgs []string
	for i, e := range entries {
		if errs[i] != nil {
			msgs = append(msgs, c.errText(errs[i]))
			continue
		}
		e.trunc = !opts.noTrunc
		rows = append(rows, e)
	}
	if len(msgs) > 0 {
		return collectErrors(msgs)
	}
	return listFormat{format: format, header: statsHeader}.write(c.out, rows)
}

func statsSample(ctx context.Context, api *client.Client, name string) (*statsEntry, error) {
	res, err := api.ContainerStats(ctx, name, client.ContainerStatsOptions{IncludePreviousSample: true})
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return nil, err
	}
	e := statsEntryFrom(name, &s)
	return &e, nil
}

// statsStream redraws the table every second from one streaming request
// per container; containers that come and go are picked up when no names
// were given.
func statsStream(ctx context.Context, c *berthCLI, api *client.Client, opts *statsOptions, format string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	latest := map[string]*statsEntry{}
	watching := map[string]bool{}
	failed := map[string]error{}
	var order []string
	// The first screen waits (up to 2 s, like Docker) for a first sample of
	// every container instead of showing them all as "--".
	var firstSeen sync.WaitGroup
	first := true
	watch := func(name string) {
		watching[name] = true
		order = append(order, name)
		latest[name] = &statsEntry{container: name, id: name, invalid: true}
		// Only the first screen waits: a WaitGroup must not grow again
		// once waited on.
		counted := first
		if counted {
			firstSeen.Add(1)
		}
		go func() {
			var once sync.Once
			seen := func() {
				if counted {
					once.Do(firstSeen.Done)
				}
			}
			defer seen()
			defer func() {
				mu.Lock()
				delete(watching, name)
				mu.Unlock()
			}()
			res, err := api.ContainerStats(ctx, name, client.ContainerStatsOptions{Stream: true})
			if err != nil {
				mu.Lock()
				failed[name] = err
				mu.Unlock()
				return
			}
			defer res.Body.Close()
			dec := json.NewDecoder(res.Body)
			for {
				var s container.StatsResponse
				if err := dec.Decode(&s); err != nil {
					return
				}
				e := statsEntryFrom(name, &s)
				mu.Lock()
				latest[name] = &e
				mu.Unlock()
				seen()
			}
		}()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		names, err := statsTargets(ctx, api, opts)
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return err
		}
		mu.Lock()
		want := map[string]bool{}
		for _, n := range names {
			want[n] = true
			if !watching[n] && latest[n] == nil {
				watch(n)
			}
		}
		if first {
			mu.Unlock()
			waitTimeout(&firstSeen, 2*time.Second)
			mu.Lock()
			// Like Docker, containers named but not found end the command.
			var msgs []string
			for _, n := range order {
				if err := failed[n]; err != nil {
					msgs = append(msgs, c.errText(err))
				}
			}
			if len(msgs) > 0 {
				mu.Unlock()
				return collectErrors(msgs)
			}
		}
		var rows []any
		kept := order[:0]
		for _, n := range order {
			e := latest[n]
			if len(opts.containers) == 0 && !want[n] {
				delete(latest, n)
				continue
			}
			kept = append(kept, n)
			row := *e
			row.trunc = !opts.noTrunc
			rows = append(rows, &row)
		}
		order = kept
		mu.Unlock()
		if !first || len(rows) > 0 {
			if err := writeStatsScreen(c.out, format, rows); err != nil {
				return err
			}
		}
		first = false
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// writeStatsScreen redraws the table in place as the Docker CLI does:
// cursor home, each line cleared to its end, the rest of the screen cleared.
func writeStatsScreen(out io.Writer, format string, rows []any) error {
	if !strings.HasPrefix(format, "table") {
		return listFormat{format: format, header: statsHeader}.write(out, rows)
	}
	var buf bytes.Buffer
	if err := (listFormat{format: format, header: statsHeader}).write(&buf, rows); err != nil {
		return err
	}
	var screen strings.Builder
	screen.WriteString("\033[H")
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		screen.WriteString(strings.TrimSuffix(line, "\n") + "\033[K\n")
	}
	screen.WriteString("\033[J")
	_, err := io.WriteString(out, screen.String())
	return err
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}
