package runtime

import (
	"slices"
	"strings"
	"sync"

	"github.com/moby/profiles/seccomp"
	lcseccomp "github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/errdefs"
)

// SeccompEnabled reports whether this binary can apply seccomp filters
// (built with cgo and the "seccomp" tag). Without it the default profile is
// skipped, as Docker does on hosts without seccomp.
const SeccompEnabled = lcseccomp.Enabled

// defaultSeccomp caches the converted default profile per bounding
// capability set: the conversion walks hundreds of rules and is the same for
// every container with the same capabilities. Cached values are shared and
// must be treated as read-only.
var defaultSeccomp sync.Map // string → *specs.LinuxSeccomp

func seccompFor(profile string, noX32 bool, s *specs.Spec) (*specs.LinuxSeccomp, error) {
	switch profile {
	case "unconfined":
		return nil, nil
	case "":
		if !SeccompEnabled {
			return nil, nil
		}
		key := strings.Join(sortedCaps(s.Process.Capabilities.Bounding), ",")
		if noX32 {
			key += ";nox32"
		}
		if v, ok := defaultSeccomp.Load(key); ok {
			return v.(*specs.LinuxSeccomp), nil
		}
		sc, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			return nil, errdefs.System(err)
		}
		if noX32 {
			sc.Architectures = slices.DeleteFunc(sc.Architectures, func(a specs.Arch) bool { return a == specs.ArchX32 })
		}
		defaultSeccomp.Store(key, sc)
		return sc, nil
	default:
		if !SeccompEnabled {
			return nil, errdefs.InvalidParameterf("seccomp is not enabled in this build, cannot run a custom seccomp profile")
		}
		sc, err := seccomp.LoadProfile(profile, s)
		if err != nil {
			return nil, errdefs.InvalidParameter(err)
		}
		return sc, nil
	}
}

func sortedCaps(c []string) []string {
	c = slices.Clone(c)
	slices.Sort(c)
	return c
}
