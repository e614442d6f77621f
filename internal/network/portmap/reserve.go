package portmap

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"berth/internal/errdefs"
)

// Reservation holds a host port bound (TCP: not listening) by the daemon.
type Reservation struct {
	fd   int
	Port uint16
}

// Reserve binds proto hostIP:port; port 0 takes an ephemeral port. A port
// in use is a Conflict with docker-proxy's wording.
func Reserve(proto string, hostIP netip.Addr, port uint16) (*Reservation, error) {
	typ := unix.SOCK_STREAM
	if proto == "udp" {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, errdefs.System(err)
	}
	var sa unix.SockaddrInet4
	if hostIP.IsValid() && hostIP.Is4() {
		sa.Addr = hostIP.As4()
	}
	sa.Port = int(port)
	if err := unix.Bind(fd, &sa); err != nil {
		unix.Close(fd)
		ip := "0.0.0.0"
		if hostIP.IsValid() {
			ip = hostIP.String()
		}
		if err == unix.EADDRINUSE {
			return nil, errdefs.Conflictf("Bind for %s:%d failed: port is already allocated", ip, port)
		}
		return nil, errdefs.InvalidParameterf("failed to bind host port %s:%d/%s: %v", ip, port, proto, err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, errdefs.System(fmt.Errorf("getsockname: %w", err))
	}
	return &Reservation{fd: fd, Port: uint16(got.(*unix.SockaddrInet4).Port)}, nil
}

// Close releases the port.
func (r *Reservation) Close() {
	if r != nil && r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}
