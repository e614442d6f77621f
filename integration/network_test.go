package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

// httpd runs busybox httpd serving body on port 80 inside the container.
func httpdCmd(body string) []string {
	return []string{"sh", "-c", "mkdir -p /www && echo " + body + " > /www/index.html && exec httpd -f -p 80 -h /www"}
}

// httpGet fetches / from addr with a raw HTTP/1.0 request and returns the
// body, retrying while the server comes up.
func httpGet(t *testing.T, addr string) (string, error) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			last = err
			continue
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprint(c, "GET / HTTP/1.0\r\n\r\n")
		b, err := io.ReadAll(bufio.NewReader(c))
		c.Close()
		if err != nil {
			last = err
			continue
		}
		s := string(b)
		if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
			return strings.TrimSpace(s[i+4:]), nil
		}
		last = fmt.Errorf("no HTTP response: %q", s)
	}
	return "", last
}

// freePort is a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ncGet is the in-container equivalent of httpGet (busybox wget segfaults
// in containers; nc works).
func ncGet(host string, port int) string {
	return fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 %s %d | tail -n 1`, host, port)
}

func TestPublishedPorts(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			name := testutil.UniqueName(t, "web")
			p1, p2 := freePort(t), freePort(t)
			must(t, c, append([]string{"run", "-d", "--name", name, "-p", fmt.Sprint(p1, ":80"),
				"-p", fmt.Sprintf("127.0.0.1:%d:80", p2), "-P", "--expose", "99", "busybox"}, httpdCmd("hello-"+c.name)...)...)
			gw := must(t, c, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge")
			ip := must(t, c, "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", name)
			if !strings.HasPrefix(ip, strings.TrimSuffix(gw, "1")) || ip == gw {
				t.Fatalf("container address %q, gateway %q", ip, gw)
			}
			for _, addr := range []string{fmt.Sprint("127.0.0.1:", p1), fmt.Sprint("127.0.0.1:", p2), net.JoinHostPort(gw, fmt.Sprint(p1))} {
				body, err := httpGet(t, addr)
				if err != nil || body != "hello-"+c.name {
					t.Fatalf("GET %s: %q %v", addr, body, err)
				}
			}
			// Published on 127.0.0.1 only: not on the bridge address.
			if _, err := net.DialTimeout("tcp", net.JoinHostPort(gw, fmt.Sprint(p2)), time.Second); err == nil {
				t.Fatalf("port %d published on 127.0.0.1 answers on %s", p2, gw)
			}
			out := must(t, c, "port", name)
			for _, want := range []string{fmt.Sprintf("80/tcp -> 0.0.0.0:%d", p1), fmt.Sprintf("80/tcp -> 127.0.0.1:%d", p2), "99/tcp -> 0.0.0.0:"} {
				if !strings.Contains(out, want) {
					t.Fatalf("port output lacks %q:\n%s", want, out)
				}
			}
			if got := must(t, c, "port", name, "80/tcp"); !strings.Contains(got, fmt.Sprint("0.0.0.0:", p1)) {
				t.Fatalf("port %s 80: %q", name, got)
			}
			if ps := must(t, c, "ps", "--format", "{{.Ports}}", "-f", "name="+name); !strings.Contains(ps, fmt.Sprintf("0.0.0.0:%d->80/tcp", p1)) {
				t.Fatalf("ps ports %q", ps)
			}
			for _, f := range []string{"publish=80", "publish=80/tcp", "expose=99", "network=bridge"} {
				if got := must(t, c, "ps", "-q", "--no-trunc", "--filter", f, "--filter", "name="+name); got == "" {
					t.Fatalf("ps --filter %s: no match", f)
				}
			}
			if got := must(t, c, "ps", "-q", "--filter", "publish=81", "--filter", "name="+name); got != "" {
				t.Fatalf("ps --filter publish=81 matched %q", got)
			}
			// Hairpin: the container reaches its own published port
			// through the host's address.
			stdout, _, _ := c.run(t, "exec", name, "sh", "-c", ncGet(gw, p1))
			if strings.TrimSpace(stdout) != "hello-"+c.name {
				t.Fatalf("hairpin: %q", stdout)
			}
			must(t, c, "rm", "-f", name)
			if _, err := net.DialTimeout("tcp", fmt.Sprint("127.0.0.1:", p1), time.Second); err == nil {
				t.Fatalf("port %d still answers after rm", p1)
			}
			if rules := portmapRules(t, d); rules != 0 {
				t.Fatalf("%d DNAT rules left after rm", rules)
			}
		})
	}
}

func TestUserNetworks(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			app, other := testutil.UniqueName(t, "app"), testutil.UniqueName(t, "other")
			must(t, c, "network", "create", "--label", "team=x", app)
			must(t, c, "network", "create", "--internal", other)
			db := testutil.UniqueName(t, "db")
			must(t, c, "run", "-d", "--name", db, "--network", app, "--network-alias", "cache", "busybox", "nc", "-ll", "-p", "6379", "-e", "cat")
			for _, host := range []string{db, "cache", db + "." + app} {
				out := must(t, c, "run", "--rm", "--network", app, "busybox", "sh", "-c", "echo ping-"+host+" | nc -w 3 "+host+" 6379")
				if out != "ping-"+host {
					t.Fatalf("via %s: %q", host, out)
				}
			}
			if rc := must(t, c, "run", "--rm", "--network", app, "busybox", "cat", "/etc/resolv.conf"); !strings.Contains(rc, "nameserver 127.0.0.11") {
				t.Fatalf("resolv.conf on a user network:\n%s", rc)
			}
			// Another network neither resolves nor reaches it.
			ip := must(t, c, "inspect", "-f", "{{(index .NetworkSettings.Networks \""+app+"\").IPAddress}}", db)
			stdout, _, _ := c.run(t, "run", "--rm", "--network", other, "busybox", "sh", "-c", "echo x | nc -w 2 "+ip+" 6379; echo rc=$?")
			if strings.Contains(stdout, "x\n") || !strings.Contains(stdout, "rc=1") {
				t.Fatalf("isolation broken: %q", stdout)
			}
			// connect: a second network, reachable by name from there.
			must(t, c, "network", "connect", "--alias", "db2", other, db)
			if out := must(t, c, "run", "--rm", "--network", other, "busybox", "sh", "-c", "echo hi | nc -w 3 db2 6379"); out != "hi" {
				t.Fatalf("after connect: %q", out)
			}
			// A running container of the default bridge that joins app gets
			// the embedded DNS.
			cl := testutil.UniqueName(t, "client")
			must(t, c, "run", "-d", "--name", cl, "busybox", "sleep", "60")
			must(t, c, "network", "connect", app, cl)
			if out := must(t, c, "exec", cl, "sh", "-c", "echo late | nc -w 3 "+db+" 6379"); out != "late" {
				t.Fatalf("after connecting a running container: %q", out)
			}
			must(t, c, "rm", "-f", cl)
			insp := must(t, c, "network", "inspect", "-f", "{{range .Containers}}{{.Name}}{{end}}", other)
			if insp != db {
				t.Fatalf("network inspect containers %q", insp)
			}
			_, stderr, code := c.run(t, "network", "rm", app)
			if code == 0 || !strings.Contains(stderr, "error while removing network: network "+app+" has active endpoints") {
				t.Fatalf("rm with endpoints: exit %d %s", code, stderr)
			}
			must(t, c, "network", "disconnect", other, db)
			if ls := must(t, c, "network", "ls", "--filter", "label=team=x", "--format", "{{.Name}}"); ls != app {
				t.Fatalf("ls by label: %q", ls)
			}
			must(t, c, "rm", "-f", db)
			must(t, c, "network", "rm", app, other)
			if _, stderr, code := c.run(t, "network", "inspect", app); code == 0 || !strings.Contains(stderr, "not found") {
				t.Fatalf("inspect removed network: %d %s", code, stderr)
			}
		})
	}
	links, _ := d.NetLeftovers()
	for _, l := range links {
		if l != d.NetPrefix+"0" {
			t.Fatalf("links left after the networks were removed: %v", links)
		}
	}
}

func TestNetworkBadInput(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	sub := d.AddressPool.Addr().As4()
	subnet := fmt.Sprintf("%d.%d.%d.0/24", sub[0], sub[1], sub[2]+8)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			n1, n2 := testutil.UniqueName(t, "a"), testutil.UniqueName(t, "b")
			must(t, c, "network", "create", "--subnet", subnet, n1)
			_, stderr, code := c.run(t, "network", "create", "--subnet", subnet, n2)
			if code == 0 || !strings.Contains(stderr, "Pool overlaps with other one on this address space") {
				t.Fatalf("overlap: exit %d %s", code, stderr)
			}
			if _, stderr, code := c.run(t, "network", "rm", "bridge"); code == 0 || !strings.Contains(stderr, "bridge is a pre-defined network and cannot be removed") {
				t.Fatalf("rm bridge: %d %s", code, stderr)
			}
			// (The docker CLI answers any 404 of create by pulling the image,
			// so only berth's CLI shows the daemon's wording here.)
			if _, stderr, code := c.run(t, "run", "--rm", "--network", "nosuchnet", "busybox", "true"); code == 0 || (c.name == "berth" && !strings.Contains(stderr, "network nosuchnet not found")) {
				t.Fatalf("unknown network: %d %s", code, stderr)
			}
			// A host port in use: a clear error, and nothing half-started.
			l, err := net.Listen("tcp", "0.0.0.0:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			port := l.Addr().(*net.TCPAddr).Port
			name := testutil.UniqueName(t, "busy")
			_, stderr, code = c.run(t, "run", "-d", "--name", name, "-p", fmt.Sprint(port, ":80"), "busybox", "sleep", "60")
			if code == 0 || !strings.Contains(stderr, "port is already allocated") {
				t.Fatalf("port in use: exit %d %s", code, stderr)
			}
			if st := must(t, c, "inspect", "-f", "{{.State.Running}}", name); st != "false" {
				t.Fatalf("container running after failed start: %s", st)
			}
			must(t, c, "rm", "-f", name)
			must(t, c, "network", "rm", n1)
		})
	}
}

// portmapRules counts the DNAT rules in the daemon's table.
func portmapRules(t *testing.T, d *testutil.Daemon) int {
	t.Helper()
	n, err := d.PortmapRules()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIPTablesFallback drives publishing and isolation through the
// iptables backend (used where the kernel lacks nf_tables).
func TestIPTablesFallback(t *testing.T) {
	testutil.RequiresRoot(t)
	if _, err := exec.LookPath("iptables-legacy"); err != nil {
		t.Skip("no iptables-legacy")
	}
	if err := exec.Command("iptables-legacy", "-t", "nat", "-L", "-n").Run(); err != nil {
		t.Skipf("legacy iptables unusable: %v", err)
	}
	d := testutil.StartDaemon(t, "--firewall-backend", "iptables")
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	port := freePort(t)
	name := testutil.UniqueName(t, "web")
	must(t, c, append([]string{"run", "-d", "--name", name, "-p", fmt.Sprint(port, ":80"), "busybox"}, httpdCmd("via-iptables")...)...)
	gw := must(t, c, "inspect", "-f", "{{.NetworkSettings.Networks.bridge.Gateway}}", name)
	for _, addr := range []string{fmt.Sprint("127.0.0.1:", port), net.JoinHostPort(gw, fmt.Sprint(port))} {
		if body, err := httpGet(t, addr); body != "via-iptables" {
			t.Fatalf("GET %s: %q %v", addr, body, err)
		}
	}
	save := func() string {
		out, _ := exec.Command("iptables-legacy-save", "-t", "nat").Output()
		return string(out)
	}
	if n := strings.Count(save(), fmt.Sprintf("--dport %d -j DNAT", port)); n != 1 {
		t.Fatalf("%d DNAT rules for port %d", n, port)
	}
	d.Kill9(t)
	d.Restart(t)
	if n := strings.Count(save(), fmt.Sprintf("--dport %d -j DNAT", port)); n != 1 {
		t.Fatalf("%d DNAT rules for port %d after kill -9 and restart", n, port)
	}
	if body, err := httpGet(t, fmt.Sprint("127.0.0.1:", port)); body != "via-iptables" {
		t.Fatalf("after restart: %q %v", body, err)
	}
	must(t, c, "rm", "-f", name)
	if strings.Contains(save(), fmt.Sprintf("--dport %d -j DNAT", port)) {
		t.Fatalf("DNAT rule left after rm")
	}
}
