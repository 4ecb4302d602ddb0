package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/ws"
)

// httpMetrics counts HTTP API requests by endpoint and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

var apiMetrics = httpMetrics{
	requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_http_requests_total", Help: "HTTP API requests by endpoint and status code.",
	}, []string{"endpoint", "code"}),
	latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_http_request_seconds", Help: "HTTP API request latency.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"endpoint"}),
}

func (h httpMetrics) observe(endpoint string, status int, elapsed time.Duration) {
	h.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	h.latency.WithLabelValues(endpoint).Observe(elapsed.Seconds())
}

// metricsHandler exposes the hub's and the transport's counters in the
// Prometheus format. Counters are read at scrape time; nothing on the hot
// path touches Prometheus.
func metricsHandler(h *hub.Hub, srv *ws.Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(apiMetrics.requests, apiMetrics.latency)
	m := h.Metrics()
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	gauge("parley_connections", "Open client connections on this node.", func() float64 { return float64(h.Connections()) })
	counter("parley_connections_total", "Connections accepted.", func() float64 { return float64(m.Connections.Load()) })
	counter("parley_connections_rejected_total", "Connections refused at connect (bad key, protocol, quota).", func() float64 { return float64(m.Rejected.Load()) })
	counter("parley_messages_delivered_total", "Frames queued to subscribers.", func() float64 { return float64(m.Delivered.Load()) })
	counter("parley_events_published_total", "Events published per channel.", func() float64 { return float64(m.Published.Load()) })
	counter("parley_client_events_total", "Client events relayed.", func() float64 { return float64(m.ClientEvents.Load()) })
	counter("parley_client_events_rate_limited_total", "Client events refused by the rate limit.", func() float64 { return float64(m.ClientEventsLimited.Load()) })
	counter("parley_subscription_errors_total", "Subscriptions refused.", func() float64 { return float64(m.SubscribeErrors.Load()) })
	counter("parley_pong_timeouts_total", "Connections closed with 4201.", func() float64 { return float64(m.PongTimeouts.Load()) })
	counter("parley_broker_errors_total", "Failed publishes to other nodes.", func() float64 { return float64(m.BrokerErrors.Load()) })
	if srv != nil {
		st := srv.Stats
		counter("parley_ws_slow_consumers_total", "Connections closed because their send queue overflowed (4100).", func() float64 { return float64(st().SlowConsumers) })
		counter("parley_ws_frames_in_total", "WebSocket frames received.", func() float64 { return float64(st().FramesIn) })
		counter("parley_ws_frames_out_total", "WebSocket frames written.", func() float64 { return float64(st().FramesOut) })
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
