package brokertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/hub"
)

// RunBroker runs the Broker contract. newNodes returns n brokers that
// form one cluster, each as one node would use it.
func RunBroker(t *testing.T, newNodes func(t *testing.T, n int) []hub.Broker) {
	t.Run("a publication reaches every other node once and in order", func(t *testing.T) {
		nodes := newNodes(t, 3)
		got := make([]chan hub.Publication, len(nodes))
		probed := make([]chan struct{}, len(nodes))
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		for i, b := range nodes {
			got[i], probed[i] = make(chan hub.Publication, 1000), make(chan struct{}, 1)
			ch, pr := got[i], probed[i]
			go func() {
				_ = b.Run(ctx, func(p hub.Publication) {
					if p.App == "probe" {
						select {
						case pr <- struct{}{}:
						default:
						}
						return
					}
					ch <- p
				})
			}()
		}
		// Wait until every node listens: publish probes until all see one.
		waitListening(t, nodes, probed)

		const n = 200
		for i := 0; i < n; i++ {
			err := nodes[0].Publish(ctx, hub.Publication{Kind: hub.PubEvent, App: "1", Channel: "c", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i)), Except: "1.2"})
			if err != nil {
				t.Fatal(err)
			}
		}
		for node := 1; node < len(nodes); node++ {
			for i := 0; i < n; i++ {
				select {
				case p := <-got[node]:
					if want := fmt.Sprintf(`{"i":%d}`, i); string(p.Payload) != want || p.Channel != "c" || p.Except != "1.2" || p.App != "1" {
						t.Fatalf("node %d got %+v (%s), want payload %s", node, p, p.Payload, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("node %d received %d of %d", node, i, n)
				}
			}
		}
		select {
		case p := <-got[0]:
			t.Fatalf("the publisher received its own publication %s", p.Payload)
		default:
		}
	})
}

func waitListening(t *testing.T, nodes []hub.Broker, probed []chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 1; i < len(nodes); i++ {
		for {
			_ = nodes[0].Publish(context.Background(), hub.Publication{Kind: hub.PubUserOnline, App: "probe"})
			select {
			case <-probed[i]:
			case <-time.After(50 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatalf("node %d never started listening", i)
				}
				continue
			}
			break
		}
	}
}
