package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
func (m *Main) metricsHandler() http.Handler {
	h, srv := m.hub, m.ws
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(apiMetrics.requests, apiMetrics.latency)
	hm := h.Metrics()
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	gauge("parley_connections", "Open client connections on this node.", func() float64 { return float64(h.Connections()) })
	counter("parley_connections_total", "Connections accepted.", func() float64 { return float64(hm.Connections.Load()) })
	counter("parley_connections_rejected_total", "Connections refused at connect (bad key, protocol, quota).", func() float64 { return float64(hm.Rejected.Load()) })
	counter("parley_messages_delivered_total", "Frames queued to subscribers.", func() float64 { return float64(hm.Delivered.Load()) })
	counter("parley_events_published_total", "Events published per channel.", func() float64 { return float64(hm.Published.Load()) })
	counter("parley_client_events_total", "Client events relayed.", func() float64 { return float64(hm.ClientEvents.Load()) })
	counter("parley_client_events_rate_limited_total", "Client events refused by the rate limit.", func() float64 { return float64(hm.ClientEventsLimited.Load()) })
	counter("parley_subscription_errors_total", "Subscriptions refused.", func() float64 { return float64(hm.SubscribeErrors.Load()) })
	counter("parley_pong_timeouts_total", "Connections closed with 4201.", func() float64 { return float64(hm.PongTimeouts.Load()) })
	counter("parley_broker_errors_total", "Failed publishes to other nodes.", func() float64 { return float64(hm.BrokerErrors.Load()) })
	if srv != nil {
		st := srv.Stats
		counter("parley_ws_slow_consumers_total", "Connections closed because their send queue overflowed (4100).", func() float64 { return float64(st().SlowConsumers) })
		counter("parley_ws_frames_in_total", "WebSocket frames received.", func() float64 { return float64(st().FramesIn) })
		counter("parley_ws_frames_out_total", "WebSocket frames written.", func() float64 { return float64(st().FramesOut) })
	}
	if s := m.webhooks; s != nil {
		counter("parley_webhook_events_delivered_total", "Webhook events acknowledged with 2xx.", func() float64 { return float64(s.Stats().Delivered) })
		counter("parley_webhook_retries_total", "Failed webhook attempts that were retried.", func() float64 { return float64(s.Stats().Retries) })
		counter("parley_webhook_failed_total", "Webhook events given up after the retry period.", func() float64 { return float64(s.Stats().Failed) })
		counter("parley_webhook_dropped_total", "Webhook events refused because a receiver's queue was full.", func() float64 { return float64(s.Stats().Dropped) })
		gauge("parley_webhook_held", "channel_vacated/member_removed events held for the cancel window.", func() float64 { return float64(s.Held()) })
	}
	if e := m.redis; e != nil {
		gauge("parley_redis_up", "1 while Redis answers.", func() float64 {
			if e.Stats().Up {
				return 1
			}
			return 0
		})
		counter("parley_redis_outages_total", "Times Redis became unreachable.", func() float64 { return float64(e.Stats().Outages) })
		counter("parley_redis_published_total", "Publications sent to other nodes.", func() float64 { return float64(e.Stats().Published) })
		counter("parley_redis_received_total", "Publications received from other nodes.", func() float64 { return float64(e.Stats().Received) })
	}
	if svc := m.offline.service.Load(); svc != nil {
		counter("parley_outbox_published_total", "Messenger outbox entries published.", func() float64 { return float64(svc.Stats().Published) })
		counter("parley_outbox_publish_errors_total", "Failed outbox publishes (retried).", func() float64 { return float64(svc.Stats().PublishErrors) })
		counter("parley_outbox_dropped_total", "Stored outbox entries that could not be decoded (logged, not published).", func() float64 { return float64(svc.Stats().OutboxDropped) })
		counter("parley_notifications_sent_total", "Offline notifications delivered.", func() float64 { return float64(svc.Stats().WebhooksSent) })
		counter("parley_notifications_failed_total", "Offline notifications given up (kept in the database).", func() float64 { return float64(svc.Stats().WebhooksFailed) })
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
