package main

import (
	"fmt"
	"strconv"
	"strings"

	"berth/internal/config"
)

// parseAddressPools reads --default-address-pool base=CIDR,size=N values.
func parseAddressPools(vals []string) ([]config.AddressPool, error) {
	var out []config.AddressPool
	for _, v := range vals {
		var p config.AddressPool
		for _, kv := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
			switch k {
			case "base":
				p.Base = val
			case "size":
				n, err := strconv.Atoi(val)
				if err != nil {
					return nil, fmt.Errorf("invalid default-address-pool size %q", val)
				}
				p.Size = n
			default:
				return nil, fmt.Errorf("invalid default-address-pool field %q in %q", k, v)
			}
		}
		if p.Base == "" || p.Size == 0 {
			return nil, fmt.Errorf("invalid default-address-pool %q: base and size are required", v)
		}
		out = append(out, p)
	}
	return out, nil
}
