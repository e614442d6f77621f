package daemon

import (
	"testing"

	"berth/internal/errdefs"
)

func TestExecTable(t *testing.T) {
	var tab execTable
	if _, err := tab.get("nope"); !errdefs.IsNotFound(err) || err.Error() != "No such exec instance: nope" {
		t.Fatalf("unknown exec: %v", err)
	}
	tab.add(&execRecord{id: "a", containerID: "c1"})
	tab.add(&execRecord{id: "b", containerID: "c2"})
	if r, err := tab.get("a"); err != nil || r.containerID != "c1" {
		t.Fatalf("get a: %v %v", r, err)
	}
	tab.dropContainer("c1")
	if _, err := tab.get("a"); !errdefs.IsNotFound(err) {
		t.Fatalf("a survived its container: %v", err)
	}
	if _, err := tab.get("b"); err != nil {
		t.Fatalf("b dropped with another container: %v", err)
	}
}
