package hub_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/brokertest"
	"github.com/parleyhq/parley/internal/hub"
)

func TestMemoryStateContract(t *testing.T) {
	brokertest.RunState(t, func(t *testing.T) hub.State { return hub.NewMemoryState() })
}

func TestMemoryBrokerContract(t *testing.T) {
	brokertest.RunBroker(t, func(t *testing.T, n int) []hub.Broker {
		b := hub.NewMemoryBroker()
		out := make([]hub.Broker, n)
		for i := range out {
			out[i] = b.Node()
		}
		return out
	})
}
