package main

import "testing"

func TestParseAddressPools(t *testing.T) {
	got, err := parseAddressPools([]string{"base=10.10.0.0/16,size=24", "size=20, base=192.168.0.0/16"})
	if err != nil || len(got) != 2 || got[0].Base != "10.10.0.0/16" || got[0].Size != 24 || got[1].Size != 20 {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"base=10.10.0.0/16", "size=x,base=10.0.0.0/8", "foo=1", ""} {
		if _, err := parseAddressPools([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
