package cli

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	apinet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newNetworkCommand is `berth network`.
func newNetworkCommand(c *berthCLI) *cobra.Command {
	cmd := groupCommand("network", "Manage networks")
	cmd.AddCommand(newNetworkConnectCommand(c), newNetworkCreateCommand(c), newNetworkDisconnectCommand(c),
		newNetworkInspectCommand(c), newNetworkLsCommand(c), newNetworkPruneCommand(c), newNetworkRmCommand(c))
	return cmd
}

type networkCreateOptions struct {
	driver, ipamDriver         string
	subnets, gateways, ranges  []string
	internal, attachable, ipv6 bool
	labels, opts               []string
}

func newNetworkCreateCommand(c *berthCLI) *cobra.Command {
	var o networkCreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkCreate(cmd.Context(), c, args[0], &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringVar(&o.ipamDriver, "ipam-driver", "default", "IP Address Management Driver")
	listVar(f, &o.subnets, "subnet", "Subnet in CIDR format that represents a network segment")
	listVar(f, &o.gateways, "gateway", "IPv4 or IPv6 Gateway for the master subnet")
	listVar(f, &o.ranges, "ip-range", "Allocate container ip from a sub-range")
	f.BoolVar(&o.internal, "internal", false, "Restrict external access to the network")
	f.BoolVar(&o.attachable, "attachable", false, "Enable manual container attachment")
	f.BoolVar(&o.ipv6, "ipv6", false, "Enable or disable IPv6 networking")
	listVar(f, &o.labels, "label", "Set metadata on a network")
	listVarP(f, &o.opts, "opt", "o", "Set driver specific options")
	return cmd
}

func runNetworkCreate(ctx context.Context, c *berthCLI, name string, o *networkCreateOptions) error {
	ipam, err := ipamConfig(o)
	if err != nil {
		return err
	}
	labels, err := parseLabels(nil, o.labels)
	if err != nil {
		return err
	}
	opts, err := parseKeyValueMap("opt", o.opts)
	if err != nil {
		return err
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	req := client.NetworkCreateOptions{Driver: o.driver, IPAM: ipam, Internal: o.internal,
		Attachable: o.attachable, Labels: labels, Options: opts}
	if o.ipv6 {
		req.EnableIPv6 = &o.ipv6
	}
	res, err := api.NetworkCreate(ctx, name, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, res.ID)
	return nil
}

// ipamConfig pairs --subnet with the --gateway and --ip-range inside it,
// as the Docker CLI does.
func ipamConfig(o *networkCreateOptions) (*apinet.IPAM, error) {
	ipam := &apinet.IPAM{Driver: o.ipamDriver}
	if len(o.subnets) < len(o.gateways) || len(o.subnets) < len(o.ranges) {
		return nil, fmt.Errorf("every ip-range or gateway must have a corresponding subnet")
	}
	for _, s := range o.subnets {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("invalid subnet %s: %v", s, err)
		}
		cfg := apinet.IPAMConfig{Subnet: p}
		for _, g := range o.gateways {
			a, err := netip.ParseAddr(g)
			if err != nil {
				return nil, fmt.Errorf("invalid gateway %s", g)
			}
			if p.Contains(a) {
				cfg.Gateway = a
			}
		}
		for _, r := range o.ranges {
			rp, err := netip.ParsePrefix(r)
			if err != nil {
				return nil, fmt.Errorf("invalid ip-range %s: %v", r, err)
			}
			if p.Contains(rp.Addr()) {
				cfg.IPRange = rp
			}
		}
		ipam.Config = append(ipam.Config, cfg)
	}
	return ipam, nil
}

func newNetworkInspectCommand(c *berthCLI) *cobra.Command {
	var format string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			get := func(ctx context.Context, ref string) (any, []byte, error) {
				res, err := api.NetworkInspect(ctx, ref, client.NetworkInspectOptions{Verbose: verbose})
				if err != nil {
					return nil, nil, err
				}
				return res.Network, res.Raw, nil
			}
			return inspectAll(cmd.Context(), c, args, format, get)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", inspectFormatHelp)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Verbose output for diagnostics")
	return cmd
}

const defaultNetworksFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

type networkLsOptions struct {
	quiet, noTrunc bool
	format         string
	filters        filterOpt
}

func newNetworkLsCommand(c *berthCLI) *cobra.Command {
	var o networkLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkLs(cmd.Context(), c, &o)
		},
	}
	f := cmd.Flags()
	f.VarP(&o.filters, "filter", "f", "Provide filter values (e.g. \"driver=bridge\")")
	f.StringVar(&o.format, "format", "", formatHelp)
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display network IDs")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate the output")
	return cmd
}

func runNetworkLs(ctx context.Context, c *berthCLI, o *networkLsOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: o.filters.f})
	if err != nil {
		return err
	}
	format := listTemplate(o.format, o.quiet, "{{.ID}}", defaultNetworksFormat)
	items := res.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	rows := make([]any, 0, len(items))
	for i := range items {
		rows = append(rows, &networkRow{n: items[i], trunc: !o.noTrunc})
	}
	return listFormat{format: format, header: networksHeader}.write(c.out, rows)
}

var networksHeader = map[string]string{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
	"IPv4": "IPV4", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}

// networkRow is one line of `network ls`, with Docker's template fields.
type networkRow struct {
	n     apinet.Summary
	trunc bool
}

func (r *networkRow) ID() string {
	if r.trunc && len(r.n.ID) > 12 {
		return r.n.ID[:12]
	}
	return r.n.ID
}
func (r *networkRow) Name() string      { return r.n.Name }
func (r *networkRow) Driver() string    { return r.n.Driver }
func (r *networkRow) Scope() string     { return r.n.Scope }
func (r *networkRow) IPv6() string      { return fmt.Sprint(r.n.EnableIPv6) }
func (r *networkRow) IPv4() string      { return fmt.Sprint(r.n.EnableIPv4) }
func (r *networkRow) Internal() string  { return fmt.Sprint(r.n.Internal) }
func (r *networkRow) CreatedAt() string { return r.n.Created.String() }
func (r *networkRow) Label(k string) string {
	return r.n.Labels[k]
}
func (r *networkRow) Labels() string {
	kv := make([]string, 0, len(r.n.Labels))
	for k, v := range r.n.Labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func newNetworkRmCommand(c *berthCLI) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			var errs []string
			for _, name := range args {
				if _, err := api.NetworkRemove(cmd.Context(), name, client.NetworkRemoveOptions{}); err != nil {
					if force && strings.Contains(err.Error(), "not found") {
						continue
					}
					errs = append(errs, c.errText(err))
					continue
				}
				fmt.Fprintln(c.out, name)
			}
			return collectErrors(errs)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}

func newNetworkPruneCommand(c *berthCLI) *cobra.Command {
	var force bool
	var filters filterOpt
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				fmt.Fprint(c.out, "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ")
				line, _ := bufio.NewReader(c.in).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return nil
				}
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			res, err := api.NetworkPrune(cmd.Context(), client.NetworkPruneOptions{Filters: filters.f})
			if err != nil {
				return err
			}
			if len(res.Report.NetworksDeleted) > 0 {
				fmt.Fprintln(c.out, "Deleted Networks:")
				for _, n := range res.Report.NetworksDeleted {
					fmt.Fprintln(c.out, n)
				}
				fmt.Fprintln(c.out)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().Var(&filters, "filter", "Provide filter values (e.g. \"until=<timestamp>\")")
	return cmd
}

type networkConnectOptions struct {
	ip, mac        string
	aliases, links []string
}

func newNetworkConnectCommand(c *berthCLI) *cobra.Command {
	var o networkConnectOptions
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			es := &apinet.EndpointSettings{Aliases: o.aliases, Links: o.links}
			if o.ip != "" {
				a, err := netip.ParseAddr(o.ip)
				if err != nil {
					return fmt.Errorf("invalid IPv4 address: %s", o.ip)
				}
				es.IPAMConfig = &apinet.EndpointIPAMConfig{IPv4Address: a}
			}
			if o.mac != "" {
				hw, err := net.ParseMAC(o.mac)
				if err != nil {
					return fmt.Errorf("%s is not a valid mac address", o.mac)
				}
				es.MacAddress = apinet.HardwareAddr(hw)
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			_, err = api.NetworkConnect(cmd.Context(), args[0], client.NetworkConnectOptions{Container: args[1], EndpointConfig: es})
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ip, "ip", "", "IPv4 address (e.g., \"172.30.100.104\")")
	f.StringVar(&o.mac, "mac-address", "", "MAC address")
	listVar(f, &o.aliases, "alias", "Add network-scoped alias for the container")
	listVar(f, &o.links, "link", "Add link to another container")
	return cmd
}

func newNetworkDisconnectCommand(c *berthCLI) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client()
			if err != nil {
				return err
			}
			_, err = api.NetworkDisconnect(cmd.Context(), args[0], client.NetworkDisconnectOptions{Container: args[1], Force: force})
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}

// networkingFor builds the create request's endpoint settings: aliases,
// --ip and --mac-address go to the network the container starts on.
func networkingFor(mode string, aliases []string, ip, mac string) (*apinet.NetworkingConfig, error) {
	if len(aliases) == 0 && ip == "" && mac == "" {
		return &apinet.NetworkingConfig{}, nil
	}
	es := &apinet.EndpointSettings{Aliases: aliases}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("invalid IPv4 address: %s", ip)
		}
		es.IPAMConfig = &apinet.EndpointIPAMConfig{IPv4Address: a}
	}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			return nil, fmt.Errorf("%s is not a valid mac address", mac)
		}
		es.MacAddress = apinet.HardwareAddr(hw)
	}
	return &apinet.NetworkingConfig{EndpointsConfig: map[string]*apinet.EndpointSettings{mode: es}}, nil
}
