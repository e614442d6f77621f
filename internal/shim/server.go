package shim

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	// devices registers the device-cgroup manager libcontainer needs to
	// apply the spec's device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// drainTimeout bounds how long the shim waits for the container's output
// pipes to reach EOF after init exits (a process that escaped the pid
// namespace could hold them open forever).
const drainTimeout = 5 * time.Second

type shimArgs struct {
	id, stateDir, logPath string
	logMaxSize            int64
	logMaxFiles           int
}

// Main is the hidden `berth shim` role. It runs the container described by
// StateDir/config.json, reports the start on fd 3, serves the socket until
// the container exits, records the exit and returns the shim's exit code.
func Main(args []string) int {
	var a shimArgs
	fs := flag.NewFlagSet("shim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.id, "id", "", "")
	fs.StringVar(&a.stateDir, "state-dir", "", "")
	fs.StringVar(&a.logPath, "log", "", "")
	fs.Int64Var(&a.logMaxSize, "log-max-size", 0, "")
	fs.IntVar(&a.logMaxFiles, "log-max-files", 0, "")
	exeFd := fs.Int(exeFdFlag[2:], -1, "")
	startPipe := os.NewFile(3, "start")
	report := func(res startResult) {
		if startPipe != nil {
			_ = json.NewEncoder(startPipe).Encode(res)
			startPipe.Close()
			startPipe = nil
		}
	}
	if err := fs.Parse(args); err != nil || a.id == "" || a.stateDir == "" {
		report(startResult{Error: fmt.Sprintf("shim: bad arguments %q", args)})
		return 2
	}
	closeInheritedExe(*exeFd)
	// The shim lives as long as its container: keep its footprint small.
	// The GC is tightened only once the container runs: at the default
	// minimum heap, a low GOGC would collect several times during the start.
	runtime.GOMAXPROCS(1)
	// The shim has no terminal; a hangup of the session that started the
	// daemon must not take it down. Caught and dropped rather than ignored:
	// an ignored signal stays ignored in the container (a shell cannot
	// even trap it), a caught one is reset to default by exec.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGPIPE)

	s := &server{args: a, exited: make(chan struct{})}
	if err := s.start(); err != nil {
		report(startResult{Error: err.Error()})
		return 1
	}
	report(startResult{Pid: s.pid})
	// Normally does not return: the C monitor takes over this process (see
	// monitor.go). What follows is the Go steady state, for containers the
	// monitor does not handle or if the exec fails.
	_ = s.execMonitor()
	s.copyOutput("stdout", s.pipes[0])
	s.copyOutput("stderr", s.pipes[1])
	debug.SetGCPercent(20)
	debug.FreeOSMemory()
	releaseText()
	s.run()
	return 0
}

type server struct {
	args      shimArgs
	container *libcontainer.Container
	process   *libcontainer.Process
	pid       int
	ln        *net.UnixListener
	log       logSink
	copies    sync.WaitGroup
	pipes     []*os.File // read ends of stdout/stderr
	cgroups   map[string]string
	cgroupRel string // container cgroup relative to the shim's own, for parent cleanup
	// monitorable: the C monitor's reduced teardown covers this container
	// (see monitor.go).
	monitorable bool

	mu      sync.Mutex
	stopped bool // container destroyed; guarded by mu

	exit    Exit
	exited  chan struct{}
	waiters sync.WaitGroup
}

// loadConfig reads the spec Start wrote and converts it the way runc does.
func (s *server) loadConfig() (*specs.Spec, *configs.Config, error) {
	dir := s.args.stateDir
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		return nil, nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", configFile, err)
	}
	if spec.Process == nil {
		return nil, nil, errors.New("spec has no process")
	}
	// specconv resolves relative paths against the working directory.
	if err := os.Chdir(dir); err != nil {
		return nil, nil, err
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: s.args.id,
		Spec:       &spec,
	})
	if err != nil {
		return nil, nil, err
	}
	if filepath.IsAbs(cfg.Cgroups.Path) {
		return nil, nil, fmt.Errorf("cgroup path %q must be relative", cfg.Cgroups.Path)
	}
	s.cgroupRel = cfg.Cgroups.Path
	if s.cgroupRel == "" {
		s.cgroupRel = filepath.Join(cfg.Cgroups.Parent, cfg.Cgroups.Name)
	}
	return &spec, cfg, nil
}

func (s *server) start() (retErr error) {
	spec, cfg, err := s.loadConfig()
	if err != nil {
		return err
	}
	dir := s.args.stateDir
	sock := filepath.Join(dir, socketFile)
	_ = os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return err
	}
	// Closing must not unlink the path: by then a new shim for the same
	// state dir may own it.
	ln.SetUnlinkOnClose(false)
	s.ln = ln
	defer func() {
		if retErr != nil {
			ln.Close()
			_ = os.Remove(sock)
		}
	}()

	proc, err := newProcess(spec.Process)
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	proc.Stdout, proc.Stderr = outW, errW
	s.pipes = []*os.File{outR, errR}
	defer func() {
		outW.Close()
		errW.Close()
		if retErr != nil {
			outR.Close()
			errR.Close()
		}
	}()

	c, err := libcontainer.Create(filepath.Join(dir, runcDir), s.args.id, cfg)
	if err != nil {
		return err
	}
	// Paths are known before the cgroups exist; take them now so a failed
	// start can clean up too.
	if st, err := c.State(); err == nil {
		// Cloned: Destroy empties the manager's own map.
		s.cgroups = maps.Clone(st.CgroupPaths)
	}
	if err := c.Run(proc); err != nil {
		_ = c.Destroy()
		s.removeCgroupParents()
		return err
	}
	s.container, s.process = c, proc
	// Hooks other than poststop have run by now; poststop ones run in
	// Destroy, which only the Go steady state calls.
	s.monitorable = (spec.Hooks == nil || len(spec.Hooks.Poststop) == 0) && cfg.IntelRdt == nil &&
		cfg.Namespaces.IsPrivate(configs.NEWPID) && cfg.Namespaces.PathOf(configs.NEWPID) == ""
	s.pid, err = proc.Pid()
	if err == nil && s.args.logPath != "" {
		// Opened only now so a failed start leaves no log file behind; the
		// pipes hold the first output meanwhile.
		s.log, err = openLog(s.args.logPath, s.args.logMaxSize, s.args.logMaxFiles)
		if err != nil {
			err = fmt.Errorf("open log: %w", err)
		}
	}
	if err != nil {
		_ = c.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		_ = c.Destroy()
		s.removeCgroupParents()
		return err
	}
	return nil
}

func (s *server) copyOutput(stream string, r *os.File) {
	s.copies.Add(1)
	go func() {
		defer s.copies.Done()
		if s.log != nil {
			_ = s.log.Copy(stream, r)
		} else {
			_, _ = io.Copy(io.Discard, r)
		}
	}()
}

// run serves the socket until the container exits, then records the exit,
// answers waiters and tears the container down.
func (s *server) run() {
	go s.serve()

	ps, _ := s.process.Wait()
	exitedAt := time.Now().UTC()
	code := exitCode(ps)
	oom := s.oomKilled()

	// All output must be in the log before anyone learns of the exit.
	drained := make(chan struct{})
	go func() { s.copies.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		for _, p := range s.pipes {
			p.Close()
		}
		<-drained
	}
	for _, p := range s.pipes {
		p.Close()
	}
	if s.log != nil {
		_ = s.log.Close()
	}

	s.exit = Exit{Code: code, OOMKilled: oom, ExitedAt: exitedAt}
	if b, err := json.Marshal(s.exit); err == nil {
		_ = writeFileAtomic(filepath.Join(s.args.stateDir, exitFile), b, true)
	}

	// Tear down before answering: the daemon may start the container again
	// (same ID, same state dir, same cgroup) as soon as Wait returns.
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	_ = s.container.Destroy()
	s.removeCgroupParents()
	_ = os.Remove(filepath.Join(s.args.stateDir, configFile))
	_ = os.RemoveAll(filepath.Join(s.args.stateDir, runcDir))
	// The socket path goes first so that a new shim can bind it at once.
	_ = os.Remove(filepath.Join(s.args.stateDir, socketFile))

	close(s.exited)
	s.ln.Close()
	waitTimeout(&s.waiters, time.Second)
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return 255
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode()
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (s *server) serve() {
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

func (s *server) handle(conn *net.UnixConn) {
	defer conn.Close()
	var req request
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		return
	}
	var resp response
	switch req.Op {
	case opPid:
		resp.Pid = s.pid
	case opSignal:
		// Held across Signal so teardown cannot destroy the container under it.
		s.mu.Lock()
		if s.stopped {
			resp.Error, resp.Class = fmt.Sprintf("container %s is not running", s.args.id), "conflict"
		} else if err := s.container.Signal(syscall.Signal(req.Signal)); err != nil {
			resp.Error, resp.Class = err.Error(), classOfSignalError(err)
		}
		s.mu.Unlock()
	case opWait:
		s.waiters.Add(1)
		defer s.waiters.Done()
		<-s.exited
		e := s.exit
		resp.Exit = &e
	default:
		resp.Error, resp.Class = fmt.Sprintf("unknown request %q", req.Op), "invalid"
	}
	_ = json.NewEncoder(conn).Encode(resp)
}

func classOfSignalError(err error) string {
	if errors.Is(err, libcontainer.ErrNotRunning) {
		return "conflict"
	}
	return "system"
}

// newProcess maps the spec's process onto libcontainer's, the way runc does.
func newProcess(p *specs.Process) (*libcontainer.Process, error) {
	nnp := p.NoNewPrivileges
	lp := &libcontainer.Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		NoNewPrivileges: &nnp,
		Init:            true,
	}
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	if c := p.Capabilities; c != nil {
		lp.Capabilities = &configs.Capabilities{
			Bounding: c.Bounding, Effective: c.Effective, Inheritable: c.Inheritable,
			Permitted: c.Permitted, Ambient: c.Ambient,
		}
	}
	for _, rl := range p.Rlimits {
		t, ok := rlimitTypes[rl.Type]
		if !ok {
			return nil, fmt.Errorf("unknown rlimit %q", rl.Type)
		}
		lp.Rlimits = append(lp.Rlimits, clampRlimit(configs.Rlimit{Type: t, Hard: rl.Hard, Soft: rl.Soft}))
	}
	return lp, nil
}

// clampRlimit lowers a limit to the shim's own hard limit when the shim
// cannot raise it (no CAP_SYS_RESOURCE, as on hosts that drop it from the
// bounding set): asking for more would fail the whole start, which is worse
// than the best limit the host allows.
func clampRlimit(rl configs.Rlimit) configs.Rlimit {
	var own unix.Rlimit
	if unix.Getrlimit(rl.Type, &own) != nil || own.Max == unix.RLIM_INFINITY || rl.Hard <= own.Max || canRaiseRlimits() {
		return rl
	}
	rl.Hard = own.Max
	rl.Soft = min(rl.Soft, own.Max)
	return rl
}

func canRaiseRlimits() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_RESOURCE) != 0
}

var rlimitTypes = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}
