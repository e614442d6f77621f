package portmap

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/google/nftables"
)

// TestTableApply: applying the same state twice leaves exactly one copy of
// every rule (the daemon re-applies at every start), and Delete removes
// the table.
func TestTableApply(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	b := make([]byte, 2)
	rand.Read(b)
	tbl := New("bpm" + hex.EncodeToString(b))
	t.Cleanup(func() { tbl.Delete() })
	count := func(chain string) int {
		c, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		nt := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: tbl.Name}
		rules, err := c.GetRules(nt, &nftables.Chain{Name: chain, Table: nt})
		if err != nil {
			t.Fatalf("rules of %s: %v", chain, err)
		}
		return len(rules)
	}
	for range 2 {
		if err := tbl.Apply(testState()); err != nil {
			t.Fatal(err)
		}
	}
	// 2 mappings; per bridge: masquerade (not internal), 127/8, hairpin;
	// forward: isolation A->B, A's three inbound rules, B's two drops.
	for chain, want := range map[string]int{"portmap": 2, "postrouting": 5, "forward": 6, "prerouting": 1, "output": 1} {
		if got := count(chain); got != want {
			t.Errorf("chain %s: %d rules, want %d", chain, got, want)
		}
	}
	if err := tbl.Apply(State{}); err != nil {
		t.Fatal(err)
	}
	if got := count("portmap"); got != 0 {
		t.Fatalf("portmap after an empty apply: %d rules", got)
	}
	if err := tbl.Delete(); err != nil {
		t.Fatal(err)
	}
	c, _ := nftables.New()
	tables, _ := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	for _, x := range tables {
		if x.Name == tbl.Name {
			t.Fatal("table left after Delete")
		}
	}
}
