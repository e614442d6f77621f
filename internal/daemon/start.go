package daemon

import (
	"berth/internal/atomicfile"
	"berth/internal/backend"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	apievents "github.com/moby/moby/api/types/events"

	"berth/internal/container"
	"berth/internal/errdefs"
	"berth/internal/runtime"
	"berth/internal/shim"
)

// Start runs a created or exited container. Starting a running (or
// restarting) container is NotModified (the API answers 304, as Docker does).
// A user start clears the manual-stop mark and begins a new restart series.
func (s *Containers) Start(ctx context.Context, ref string) error {
	snap, err := s.store.Lookup(ref)
	if err != nil {
		return err
	}
	if snap.State.IsRunning() || snap.State.Status == container.StatusRestarting {
		return errdefs.NotModified(fmt.Errorf("container already started"))
	}
	if snap.State.Status == container.StatusRemoving || snap.State.Status == container.StatusDead {
		return errdefs.Conflictf("container is marked for removal and cannot be started")
	}
	// Serialise starts of one container: the handle map doubles as the lock.
	s.mu.Lock()
	if s.running[snap.ID] != nil {
		s.mu.Unlock()
		return errdefs.NotModified(fmt.Errorf("container already started"))
	}
	s.running[snap.ID] = &running{done: make(chan struct{})}
	s.mu.Unlock()
	s.forgetRestarts(snap.ID)
	return s.launch(ctx, snap, true)
}

// launch starts the container's process; the caller holds its start slot
// (a placeholder in s.running). byUser distinguishes Start from a restart by
// policy: only the former resets RestartCount, and a policy restart gives way
// to a manual stop that raced it.
func (s *Containers) launch(ctx context.Context, snap *container.Snapshot, byUser bool) error {
	h, err := s.startShim(ctx, snap)
	if err != nil {
		s.mu.Lock()
		delete(s.running, snap.ID)
		s.mu.Unlock()
		s.endAttachWaits(snap.ID, err) // attach.go
		code := 128
		if errdefs.IsInvalidParameter(err) {
			code = exitCodeFor(err.Error())
		}
		msg := err.Error()
		after, _ := s.store.Update(snap.ID, func(c *container.Container) error {
			c.State.SetStartFailed(code, msg)
			if c.State.Status == container.StatusRestarting {
				// Like Docker, a restart that fails ends the loop.
				return c.State.SetRestartCanceled()
			}
			return nil
		})
		if after != nil && !byUser {
			s.notifyExit(snap.ID, exitResult{code: after.State.ExitCode, err: msg})
		}
		if snap.HostConfig.AutoRemove {
			// Docker removes an auto-remove container whose start failed;
			// the CLI waits for that removal before it reports the error.
			if rerr := s.Remove(context.WithoutCancel(ctx), snap.ID, backend.RemoveOptions{Force: true}); rerr != nil {
				s.log.Warn("auto-remove after failed start", "container", snap.ID, "err", rerr)
			}
		}
		return err
	}
	now := time.Now().UTC()
	after, err := s.store.Update(snap.ID, func(c *container.Container) error {
		if !byUser && c.State.ManuallyStopped {
			return errdefs.Conflictf("container %s was stopped while it restarted", c.ID)
		}
		c.State.ManuallyStopped = false
		if byUser {
			c.RestartCount = 0
		}
		return c.State.SetRunning(h.shim.Pid(), now)
	})
	if err != nil {
		// The process runs but the record could not say so (or a stop
		// overtook a policy restart): stop it rather than leave an
		// untracked container.
		h.shim.Signal(context.Background(), 9)
		h.shim.Wait(context.Background())
		s.cleanupAfterExit(snap.ID)
		s.mu.Lock()
		delete(s.running, snap.ID)
		s.mu.Unlock()
		if !byUser {
			s.endRestart(snap.ID)
		}
		return err
	}
	s.attachStarted(snap, h) // makes h visible; attach.go
	s.publish(after, apievents.ActionStart, nil)
	go s.monitor(snap.ID, h)
	s.startHealth(after, h, true)
	return nil
}

// exitCodeFor maps a start failure to Docker's exit codes.
func exitCodeFor(msg string) int {
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		return 127
	case strings.Contains(msg, "permission denied"):
		return 126
	}
	return 128
}

func (s *Containers) startShim(ctx context.Context, snap *container.Snapshot) (*running, error) {
	// Starts the kernel's cgroup-attach grace period now, so that it
	// overlaps the preparation below instead of delaying the container.
	shim.WarmCgroups()
	rootfs, err := s.images.Mount(ctx, snap.ID)
	if err != nil {
		return nil, fmt.Errorf("mounting container rootfs: %w", err)
	}
	fail := func(err error) (*running, error) {
		s.teardownNetwork(context.WithoutCancel(ctx), snap.ID)
		if uerr := s.images.Unmount(context.WithoutCancel(ctx), snap.ID); uerr != nil {
			s.log.Warn("unmount after failed start", "container", snap.ID, "err", uerr)
		}
		s.removeStateDir(snap.ID)
		s.volumes.unmounted(snap.ID)
		return nil, err
	}
	netMode, err := s.setupNetwork(ctx, snap)
	if err != nil {
		return fail(err)
	}
	if err := s.writeEtcFiles(snap); err != nil {
		return fail(err)
	}
	user, err := runtime.ResolveUser(rootfs, snap.Config.User)
	if err != nil {
		return fail(err)
	}
	rc := s.runtimeConfig(snap, rootfs, user)
	if err := s.applyOptions(ctx, &rc, snap, rootfs); err != nil {
		return fail(err)
	}
	rc.NetworkMode = netMode
	if h, dn, ok := s.sharedHostname(snap); ok {
		rc.Hostname, rc.Domainname = h, dn
	}
	rc.Env = append(rc.Env, s.linkEnv(snap)...)
	vm, err := s.volumes.runtimeMounts(ctx, snap, rootfs)
	if err != nil {
		return fail(err)
	}
	rc.Mounts = sortMounts(append(rc.Mounts, vm...))
	spec, err := runtime.Spec(rc)
	if err != nil {
		return fail(err)
	}
	setConsoleSize(spec, snap)
	stateDir := s.stateDir(snap.ID)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fail(errdefs.System(err))
	}
	maxSize, maxFiles := logLimits(snap.HostConfig.LogConfig.Config)
	client, err := shim.Start(ctx, shim.Options{
		ID: snap.ID, Spec: spec, StateDir: stateDir,
		LogPath: snap.LogPath, LogMaxSize: maxSize, LogMaxFiles: maxFiles,
		Stdin: snap.Config.OpenStdin, Tty: snap.Config.Tty,
	})
	if err != nil {
		return fail(err)
	}
	return &running{shim: client, done: make(chan struct{})}, nil
}

func (s *Containers) runtimeConfig(snap *container.Snapshot, rootfs string, user runtime.User) runtime.Config {
	cfg, hc := snap.Config, snap.HostConfig
	netMode := "none"
	if hc.NetworkMode == "host" {
		netMode = "host"
	}
	mounts := []runtime.Mount{
		{Source: snap.HostnamePath, Destination: "/etc/hostname", Type: "bind", Options: []string{"rbind", "rprivate"}},
		{Source: snap.HostsPath, Destination: "/etc/hosts", Type: "bind", Options: []string{"rbind", "rprivate"}},
		{Source: snap.ResolvConfPath, Destination: "/etc/resolv.conf", Type: "bind", Options: []string{"rbind", "rprivate"}},
	}
	parent := hc.CgroupParent
	if parent == "" {
		parent = s.cfg.CgroupParent
	}
	r := hc.Resources
	var pids int64
	if r.PidsLimit != nil {
		pids = *r.PidsLimit
	}
	oomDisable := r.OomKillDisable != nil && *r.OomKillDisable
	return runtime.Config{
		ID: snap.ID, Rootfs: rootfs, Args: append([]string{snap.Path}, snap.Args...),
		Env: cfg.Env, Cwd: cfg.WorkingDir, User: user,
		Hostname: cfg.Hostname, Domainname: cfg.Domainname, Tty: cfg.Tty,
		ReadonlyRootfs: hc.ReadonlyRootfs, NetworkMode: netMode, Mounts: mounts,
		Resources: runtime.Resources{
			Memory: r.Memory, MemorySwap: r.MemorySwap, MemoryReservation: r.MemoryReservation,
			NanoCPUs: r.NanoCPUs, CPUShares: r.CPUShares, CPUQuota: r.CPUQuota, CPUPeriod: r.CPUPeriod,
			PidsLimit: pids, OomKillDisable: oomDisable,
		},
		CgroupParent: parent, Privileged: hc.Privileged,
		CapAdd: hc.CapAdd, CapDrop: hc.CapDrop,
		Sysctls: hc.Sysctls, Labels: cfg.Labels,
		Host: s.host,
	}
}

// writeEtcFiles writes the files bind-mounted over /etc/hostname, /etc/hosts
// and /etc/resolv.conf.
func (s *Containers) writeEtcFiles(snap *container.Snapshot) error {
	hostname, hosts, resolv := s.etcFiles(snap)
	files := map[string][]byte{
		snap.HostnamePath:   []byte(hostname + "\n"),
		snap.HostsPath:      hosts,
		snap.ResolvConfPath: resolv,
	}
	for path, data := range files {
		// Regenerated at every start: atomic, but not worth an fsync on
		// the hottest path.
		if err := atomicfile.Replace(path, data, 0o644); err != nil {
			return errdefs.System(err)
		}
	}
	return nil
}

func logLimits(opts map[string]string) (int64, int) {
	var size int64
	files := 1
	if v, ok := opts["max-size"]; ok {
		if n, err := parseSize(v); err == nil {
			size = n
		}
	}
	if v, ok := opts["max-file"]; ok {
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n > 0 {
			files = n
		}
	}
	return size, files
}

// monitor waits for the container's exit through its shim and records it.
func (s *Containers) monitor(id string, h *running) {
	exit, err := h.shim.Wait(context.Background())
	if err != nil {
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			// The daemon is shutting down and let go of the shim: the
			// container lives on for the next daemon to restore.
			return
		}
		// The shim vanished without telling us; its exit record, if any,
		// is the truth.
		if e, rerr := shim.ReadExit(s.stateDir(id)); rerr == nil {
			exit, err = e, nil
		}
	}
	code, oom := exit.Code, exit.OOMKilled
	at := exit.ExitedAt
	if err != nil {
		s.log.Warn("lost container exit status", "container", id, "err", err)
		code, at = 255, time.Now().UTC()
	}
	if at.IsZero() {
		at = time.Now().UTC()
	}
	s.recordExit(id, code, oom, at)
}

// recordExit is the single place an exit becomes state: the restart policy's
// decision, record, cleanup, events, waiters, then a scheduled restart or
// auto-removal.
func (s *Containers) recordExit(id string, code int, oom bool, at time.Time) {
	s.mu.Lock()
	if s.closing {
		// Leave the record and the shim's exit file as they are: the next
		// daemon's restore records this exit and applies the policy.
		h := s.running[id]
		delete(s.running, id)
		s.mu.Unlock()
		if h != nil {
			close(h.done)
		}
		return
	}
	s.mu.Unlock()
	var restart bool
	var ran time.Duration
	after, err := s.store.Update(id, func(c *container.Container) error {
		ran = at.Sub(c.State.StartedAt)
		p, autoRemove := restartPolicy(c.HostConfig)
		restart = shouldRestart(p, code, c.State.ManuallyStopped, autoRemove, c.RestartCount)
		if restart {
			if err := c.State.SetRestarting(code, oom, at); err != nil {
				return err
			}
			c.RestartCount++
			return nil
		}
		return c.State.SetExited(code, oom, at)
	})
	s.cleanupAfterExit(id)
	s.mu.Lock()
	h := s.running[id]
	delete(s.running, id)
	s.mu.Unlock()
	if h != nil {
		if h.shim != nil {
			h.shim.Close()
		}
		close(h.done)
	}
	if err != nil {
		s.log.Warn("recording exit", "container", id, "err", err)
		return
	}
	if oom {
		s.publish(after, apievents.ActionOOM, nil)
	}
	if ran < 0 {
		ran = 0
	}
	s.publish(after, apievents.ActionDie, map[string]string{
		"exitCode": fmt.Sprint(code), "execDuration": fmt.Sprint(int(ran.Seconds())),
	})
	s.notifyExit(id, exitResult{code: code})
	if restart {
		s.scheduleRestart(id, ran)
		return
	}
	if after.HostConfig.AutoRemove {
		if err := s.Remove(context.Background(), id, backend.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
			s.log.Warn("auto-remove", "container", id, "err", err)
		}
	}
}

func (s *Containers) cleanupAfterExit(id string) {
	s.teardownNetwork(context.Background(), id)
	s.execs.dropContainer(id)
	if err := s.images.Unmount(context.Background(), id); err != nil {
		s.log.Warn("unmounting rootfs", "container", id, "err", err)
	}
	s.removeStateDir(id)
	s.volumes.unmounted(id)
}
