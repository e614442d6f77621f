package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"berth/internal/testutil"
)

func TestLegacyLinks(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			web := testutil.UniqueName(t, "web")
			must(t, c, append([]string{"run", "-d", "--name", web, "--expose", "80", "-e", "SECRET=s1", "busybox"}, httpdCmd("linked")...)...)
			out := must(t, c, "run", "--rm", "--link", web+":site", "busybox", "sh", "-c",
				"grep -w site /etc/hosts; echo $SITE_PORT; echo $SITE_ENV_SECRET; echo $SITE_NAME; "+ncGet("site", 80))
			ip := must(t, c, "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", web)
			if c.name == "docker" {
				// API 1.50 still carries the deprecated top-level fields.
				if legacy := must(t, c, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", web); legacy != ip {
					t.Fatalf("NetworkSettings.IPAddress %q, want %q", legacy, ip)
				}
			}
			lines := strings.Split(out, "\n")
			if len(lines) != 5 || !strings.HasPrefix(lines[0], ip+"\tsite ") || lines[1] != "tcp://"+ip+":80" ||
				lines[2] != "s1" || !strings.HasSuffix(lines[3], "/site") || lines[4] != "linked" {
				t.Fatalf("link view:\n%s", out)
			}
			must(t, c, "rm", "-f", web)
		})
	}
}

func TestNetworkModes(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	hostName, _ := os.Hostname()
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			// none: loopback only.
			if out := must(t, c, "run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net"); out != "lo" {
				t.Fatalf("none: %q", out)
			}
			// host: the host's interfaces and hostname.
			out := must(t, c, "run", "--rm", "--network", "host", "busybox", "sh", "-c", "hostname; ls /sys/class/net")
			if !strings.HasPrefix(out, hostName+"\n") || !strings.Contains(out, d.NetPrefix+"0") {
				t.Fatalf("host: %q", out)
			}
			// bridge: eth0 with the address inspect reports, a default
			// route via the gateway, a Docker-style MAC.
			name := testutil.UniqueName(t, "box")
			must(t, c, "run", "-d", "--name", name, "--hostname", "h1", "--domainname", "example.test",
				"--add-host", "gw.test:host-gateway", "--add-host", "db.test:10.9.9.9", "busybox", "sleep", "60")
			ip := must(t, c, "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", name)
			mac := must(t, c, "inspect", "-f", "{{.NetworkSettings.Networks.bridge.MacAddress}}", name)
			gw := must(t, c, "inspect", "-f", "{{.NetworkSettings.Networks.bridge.Gateway}}", name)
			if !strings.HasPrefix(mac, "02:42:") {
				t.Fatalf("MAC %q", mac)
			}
			got := must(t, c, "exec", name, "sh", "-c", "cat /sys/class/net/eth0/address; ip route | grep default; cat /etc/hosts")
			for _, want := range []string{mac, "default via " + gw + " dev eth0", ip + "\th1.example.test h1", gw + "\tgw.test", "10.9.9.9\tdb.test"} {
				if !strings.Contains(got, want) {
					t.Fatalf("bridge view lacks %q:\n%s", want, got)
				}
			}
			// container:<name> shares the namespace, the hostname and the
			// hosts file.
			if out := must(t, c, "run", "--rm", "--network", "container:"+name, "busybox", "sh", "-c", "cat /sys/class/net/eth0/address; hostname; grep db.test /etc/hosts"); out != mac+"\nh1\n10.9.9.9\tdb.test" {
				t.Fatalf("container mode sees %q, want MAC %s, hostname h1 and the hosts entry", out, mac)
			}
			// --dns, --dns-search, --dns-option on the default bridge.
			rc := must(t, c, "run", "--rm", "--dns", "10.1.2.3", "--dns-search", "corp.test", "--dns-option", "ndots:2", "busybox", "cat", "/etc/resolv.conf")
			for _, want := range []string{"nameserver 10.1.2.3", "search corp.test", "options ndots:2"} {
				if !strings.Contains(rc, want) {
					t.Fatalf("resolv.conf lacks %q:\n%s", want, rc)
				}
			}
			must(t, c, "rm", "-f", name)
		})
	}
}

func TestStaticAddressAndMAC(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	a := d.AddressPool.Addr().As4()
	subnet := fmt.Sprintf("%d.%d.%d.0/24", a[0], a[1], a[2]+9)
	ip := fmt.Sprintf("%d.%d.%d.42", a[0], a[1], a[2]+9)
	for _, c := range clis(t, d) {
		t.Run(c.name, func(t *testing.T) {
			n := testutil.UniqueName(t, "static")
			brName := d.NetPrefix + "-" + c.name[:2]
			gw := fmt.Sprintf("%d.%d.%d.254", a[0], a[1], a[2]+9)
			must(t, c, "network", "create", "--subnet", subnet, "--gateway", gw, "--ip-range", fmt.Sprintf("%d.%d.%d.32/27", a[0], a[1], a[2]+9),
				"-o", "com.docker.network.bridge.name="+brName, n)
			if got := must(t, c, "network", "inspect", "-f", `{{range .IPAM.Config}}{{.Gateway}}{{end}} {{index .Options "com.docker.network.bridge.name"}}`, n); got != gw+" "+brName {
				t.Fatalf("network inspect: %q", got)
			}
			if links, _ := d.NetLeftovers(); !strings.Contains(strings.Join(links, ","), brName) {
				t.Fatalf("bridge %s missing: %v", brName, links)
			}
			if route := must(t, c, "run", "--rm", "--network", n, "busybox", "ip", "route"); !strings.Contains(route, "default via "+gw) {
				t.Fatalf("route via --gateway: %q", route)
			}
			out := must(t, c, "run", "--rm", "--network", n, "--ip", ip, "--mac-address", "92:d0:c6:0a:29:33", "busybox", "sh", "-c",
				"ip -4 addr show eth0 | grep -o 'inet [0-9./]*'; cat /sys/class/net/eth0/address")
			if out != "inet "+ip+"/24\n92:d0:c6:0a:29:33" {
				t.Fatalf("static address: %q", out)
			}
			dyn := must(t, c, "run", "--rm", "--network", n, "busybox", "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'")
			if !strings.HasPrefix(dyn, fmt.Sprintf("inet %d.%d.%d.3", a[0], a[1], a[2]+9)) {
				t.Fatalf("dynamic address outside --ip-range: %q", dyn)
			}
			must(t, c, "network", "rm", n)
		})
	}
}

func TestNetworkSurvivesDaemonKill(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	port := freePort(t)
	app := testutil.UniqueName(t, "app")
	must(t, c, "network", "create", app)
	web := testutil.UniqueName(t, "web")
	must(t, c, append([]string{"run", "-d", "--name", web, "--network", app, "-p", fmt.Sprint(port, ":80"), "busybox"}, httpdCmd("alive")...)...)
	if body, err := httpGet(t, fmt.Sprint("127.0.0.1:", port)); body != "alive" {
		t.Fatalf("before kill: %q %v", body, err)
	}
	before := portmapRules(t, d)
	d.Kill9(t)
	// Networking does not depend on the daemon.
	if body, err := httpGet(t, fmt.Sprint("127.0.0.1:", port)); body != "alive" {
		t.Fatalf("daemon down: %q %v", body, err)
	}
	d.Restart(t)
	if body, err := httpGet(t, fmt.Sprint("127.0.0.1:", port)); body != "alive" {
		t.Fatalf("after restart: %q %v", body, err)
	}
	if after := portmapRules(t, d); after != before || after != 1 {
		t.Fatalf("DNAT rules: %d before, %d after the restart", before, after)
	}
	// The embedded DNS comes back, and addresses are not handed out twice.
	out := must(t, c, "run", "--rm", "--network", app, "busybox", "sh", "-c", ncGet(web, 80))
	if out != "alive" {
		t.Fatalf("by name after restart: %q", out)
	}
	ip := must(t, c, "inspect", "-f", "{{(index .NetworkSettings.Networks \""+app+"\").IPAddress}}", web)
	other := must(t, c, "run", "--rm", "--network", app, "busybox", "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'")
	if other == "inet "+ip {
		t.Fatalf("address %s handed out twice", ip)
	}
	must(t, c, "rm", "-f", web)
	deadline := time.Now().Add(5 * time.Second)
	for portmapRules(t, d) != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := portmapRules(t, d); n != 0 {
		t.Fatalf("%d DNAT rules after rm", n)
	}
	must(t, c, "network", "rm", app)
}

func TestNetworkEvents(t *testing.T) {
	testutil.RequiresRoot(t)
	d := testutil.StartDaemon(t)
	d.ImportBusybox(t, "busybox")
	c := clis(t, d)[0]
	since := fmt.Sprint(time.Now().Add(-time.Second).Unix())
	n := testutil.UniqueName(t, "ev")
	must(t, c, "network", "create", n)
	must(t, c, "run", "--rm", "--network", n, "busybox", "true")
	must(t, c, "network", "rm", n)
	until := fmt.Sprint(time.Now().Add(time.Second).Unix())
	out := must(t, c, "events", "--since", since, "--until", until, "--filter", "type=network", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	for _, want := range []string{"create " + n, "connect " + n, "disconnect " + n, "destroy " + n} {
		if !strings.Contains(out, want) {
			t.Fatalf("events lack %q:\n%s", want, out)
		}
	}
}
