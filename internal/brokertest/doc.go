// Package brokertest is the contract suite every hub.State and hub.Broker
// implementation passes: the in-memory ones and Redis. Implementations
// call RunState and RunBroker from their own tests.
package brokertest
