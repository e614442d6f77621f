package daemon

import (
	"testing"
)

func TestRenderResolvConf(t *testing.T) {
	host := []byte("# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n")
	tests := []struct {
		name     string
		host     []byte
		own, dmn dnsSettings
		embedded bool
		want     string
	}{
		{"host minus loopback", host, dnsSettings{}, dnsSettings{}, false,
			"nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n"},
		{"only loopback on the host", []byte("nameserver 127.0.0.53\n"), dnsSettings{}, dnsSettings{}, false,
			"nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"daemon --dns kept even on loopback", host, dnsSettings{}, dnsSettings{servers: []string{"127.0.0.1"}}, false,
			"nameserver 127.0.0.1\nsearch corp.example\noptions edns0\n"},
		{"container flags win", host, dnsSettings{servers: []string{"1.1.1.1"}, search: []string{"a.test"}, options: []string{"ndots:2"}},
			dnsSettings{servers: []string{"9.9.9.9"}}, false, "nameserver 1.1.1.1\nsearch a.test\noptions ndots:2\n"},
		{"search . clears", host, dnsSettings{search: []string{"."}}, dnsSettings{}, false,
			"nameserver 10.0.0.2\noptions edns0\n"},
		{"embedded", host, dnsSettings{}, dnsSettings{}, true,
			"nameserver 127.0.0.11\nsearch corp.example\noptions edns0 ndots:0\n"},
		{"embedded keeps own ndots", host, dnsSettings{options: []string{"ndots:3"}}, dnsSettings{}, true,
			"nameserver 127.0.0.11\nsearch corp.example\noptions ndots:3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(renderResolvConf(tt.host, tt.own, tt.dmn, tt.embedded)); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
