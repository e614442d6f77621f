package bridge

import (
	"testing"

	"berth/internal/network"
	"berth/internal/network/networktest"
)

func TestConformance(t *testing.T) {
	networktest.Run(t, func(prefix string) network.Driver { return New(prefix) })
}
