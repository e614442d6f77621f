//go:build cgo

package shim

// #cgo CFLAGS: -O2 -Wall
// #include <stdlib.h>
// #include "monitor.h"
import "C"

import "unsafe"

// haveMonitor: this binary carries the C monitor (monitor.c).
const haveMonitor = true

// monitorJSONString encodes s with the monitor's encoder; tests compare it
// with logger's.
func monitorJSONString(s []byte) []byte {
	dst := C.malloc(C.size_t(6*len(s) + 2))
	defer C.free(dst)
	var src unsafe.Pointer
	if len(s) > 0 {
		src = C.CBytes(s)
		defer C.free(src)
	}
	n := C.berth_json_string((*C.char)(dst), (*C.uchar)(src), C.size_t(len(s)))
	return C.GoBytes(dst, C.int(n))
}
