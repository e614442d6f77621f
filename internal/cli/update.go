package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// updateOptions are docker update's flags; like Docker, only the ones the
// user gave are sent, so the rest of the container's limits stay.
type updateOptions struct {
	memory, memoryRes           memBytes
	memorySwap                  memSwapBytes
	cpus                        nanoCPUs
	cpuShares, cpuQuota, cpuPer int64
	pidsLimit                   int64
	restart                     string
	cpusetCpus, cpusetMems      string
}

func newUpdateCommand(c *berthCLI) *cobra.Command {
	return updateCommand(c, &updateOptions{})
}

func updateCommand(c *berthCLI, o *updateOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().NFlag() == 0 {
				return errors.New("you must provide one or more flags when using this command")
			}
			up, err := o.updateConfig(cmd)
			if err != nil {
				return err
			}
			return runUpdate(cmd.Context(), c, up, args)
		},
	}
	f := cmd.Flags()
	f.VarP(&o.memory, "memory", "m", "Memory limit")
	f.Var(&o.memorySwap, "memory-swap", `Swap limit equal to memory plus swap: -1 to enable unlimited swap`)
	f.Var(&o.memoryRes, "memory-reservation", "Memory soft limit")
	f.Var(&o.cpus, "cpus", "Number of CPUs")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Int64Var(&o.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	f.Int64Var(&o.cpuPer, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.StringVar(&o.restart, "restart", "", "Restart policy to apply when a container exits")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&o.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	return withAliasGroup(cmd, "update")
}

func (o *updateOptions) updateConfig(cmd *cobra.Command) (client.ContainerUpdateOptions, error) {
	r := &container.Resources{
		Memory: int64(o.memory), MemorySwap: int64(o.memorySwap), MemoryReservation: int64(o.memoryRes),
		NanoCPUs: int64(o.cpus), CPUShares: o.cpuShares, CPUQuota: o.cpuQuota, CPUPeriod: o.cpuPer,
		CpusetCpus: o.cpusetCpus, CpusetMems: o.cpusetMems,
	}
	if flagWasSet(cmd.Flags(), "pids-limit") {
		limit := o.pidsLimit
		r.PidsLimit = &limit
	}
	up := client.ContainerUpdateOptions{Resources: r}
	if o.restart != "" {
		p, err := parseRestartPolicy(o.restart)
		if err != nil {
			return up, err
		}
		up.RestartPolicy = &p
	}
	return up, nil
}

func runUpdate(ctx context.Context, c *berthCLI, up client.ContainerUpdateOptions, containers []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range containers {
		res, err := api.ContainerUpdate(ctx, name, up)
		if err != nil {
			errs = append(errs, c.errText(err))
			continue
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(c.err, w)
		}
		fmt.Fprintln(c.out, name)
	}
	return collectErrors(errs)
}
