package runtime

import (
	"slices"
	"strings"

	"github.com/moby/sys/capability"

	"berth/internal/errdefs"
)

// defaultCaps is Docker's default capability set.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// knownCaps lists every capability this build knows, as "CAP_X".
var knownCaps = func() []string {
	var out []string
	for _, c := range capability.ListKnown() {
		out = append(out, "CAP_"+strings.ToUpper(c.String()))
	}
	return out
}()

// ValidateCapabilities checks --cap-add/--cap-drop names the way Docker
// does at create time ("net_admin", "CAP_NET_ADMIN" and "ALL" are valid).
func ValidateCapabilities(lists ...[]string) error {
	for _, l := range lists {
		if _, _, err := normalizeCaps(l); err != nil {
			return err
		}
	}
	return nil
}

// KnownCapabilities returns every capability name this build knows.
func KnownCapabilities() []string { return slices.Clone(knownCaps) }

// capabilities computes the container's capability set the way Docker
// does: start from the defaults (or everything with "ALL" / privileged),
// then apply drops and adds. "Everything" means what the host's bounding
// set holds, since asking for a capability the host lacks fails the start.
func capabilities(cfg Config) ([]string, error) {
	all := knownCaps
	if cfg.Host.BoundingCaps != nil {
		all = nil
		for _, c := range knownCaps {
			if slices.Contains(cfg.Host.BoundingCaps, c) {
				all = append(all, c)
			}
		}
	}
	if cfg.Privileged {
		return slices.Clone(all), nil
	}
	add, addAll, err := normalizeCaps(cfg.CapAdd)
	if err != nil {
		return nil, err
	}
	drop, dropAll, err := normalizeCaps(cfg.CapDrop)
	if err != nil {
		return nil, err
	}
	var base []string
	switch {
	case addAll:
		base = slices.Clone(all)
	case dropAll:
		base = nil
	default:
		base = slices.Clone(defaultCaps)
	}
	out := base[:0:0]
	for _, c := range base {
		if !slices.Contains(drop, c) || slices.Contains(add, c) {
			out = append(out, c)
		}
	}
	if !addAll {
		for _, c := range add {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// normalizeCaps upper-cases names, adds the CAP_ prefix and reports "ALL".
func normalizeCaps(in []string) (caps []string, all bool, err error) {
	for _, c := range in {
		u := strings.ToUpper(strings.TrimSpace(c))
		if u == "ALL" {
			all = true
			continue
		}
		if !strings.HasPrefix(u, "CAP_") {
			u = "CAP_" + u
		}
		if !slices.Contains(knownCaps, u) {
			return nil, false, errdefs.InvalidParameterf("unknown capability: %q", u)
		}
		caps = append(caps, u)
	}
	return caps, all, nil
}
