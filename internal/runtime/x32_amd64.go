package runtime

import "golang.org/x/sys/unix"

// x32Supported probes the kernel for the x32 ABI: x32 system calls are the
// x86_64 numbers with bit 30 set, and kernels built without x32 reject them.
func x32Supported() bool {
	const x32Bit = 0x40000000
	_, _, errno := unix.RawSyscall(x32Bit|unix.SYS_GETPID, 0, 0, 0)
	return errno == 0
}
