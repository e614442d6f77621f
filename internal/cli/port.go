package cli

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"

	apinet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newPortCommand is `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.
func newPortCommand(c *berthCLI) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPort(cmd.Context(), c, args)
		},
	}
}

func runPort(ctx context.Context, c *berthCLI, args []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	res, err := api.ContainerInspect(ctx, args[0], client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	var ports apinet.PortMap
	if res.Container.NetworkSettings != nil {
		ports = res.Container.NetworkSettings.Ports
	}
	if len(args) == 2 {
		want := args[1]
		if !strings.Contains(want, "/") {
			want += "/tcp"
		}
		p, err := apinet.ParsePort(want)
		if err != nil {
			return fmt.Errorf("Error: invalid port (%s): %v", args[1], err)
		}
		bs := ports[p]
		if len(bs) == 0 {
			return fmt.Errorf("Error: No public port '%s' published for %s", p, args[0])
		}
		for _, b := range bs {
			fmt.Fprintln(c.out, hostPort(b))
		}
		return nil
	}
	var keys []apinet.Port
	for p := range ports {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Num() != keys[j].Num() {
			return keys[i].Num() < keys[j].Num()
		}
		return keys[i].Proto() < keys[j].Proto()
	})
	for _, p := range keys {
		for _, b := range ports[p] {
			fmt.Fprintf(c.out, "%s -> %s\n", p, hostPort(b))
		}
	}
	return nil
}

func hostPort(b apinet.PortBinding) string {
	ip := "0.0.0.0"
	if b.HostIP.IsValid() {
		ip = b.HostIP.String()
	}
	return net.JoinHostPort(ip, b.HostPort)
}
