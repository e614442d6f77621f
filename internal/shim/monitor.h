#ifndef BERTH_SHIM_MONITOR_H
#define BERTH_SHIM_MONITOR_H
#include <stddef.h>

// berth_json_string writes s as a JSON string the way logger's encoder does
// and returns its length; dst must hold 6*n+2 bytes.
size_t berth_json_string(char *dst, const unsigned char *s, size_t n);

#endif
