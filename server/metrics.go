package server

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a registry with the Go runtime and process collectors,
// ready to pass as Config.Registry.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

type metrics struct {
	connections      prometheus.Gauge
	connectsTotal    prometheus.Counter
	messagesStored   prometheus.Counter
	deliveries       prometheus.Counter
	slowConsumers    prometheus.Counter
	ephemeralDropped prometheus.Counter
	badFrames        prometheus.Counter
	rateLimited      prometheus.Counter
	gapFills         prometheus.Counter
	registrations    prometheus.Counter
	loginFailures    prometheus.Counter
	storeLatency     *prometheus.HistogramVec
	storeFailed      *prometheus.CounterVec
	rooms            prometheus.Gauge

	failures *storeFailures // logs what storeFailed counts
}

// newMetrics registers the server's metrics with reg; log receives the
// store's failures.
func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_connections", Help: "Open WebSocket connections on this node."}),
		connectsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_connections_total", Help: "WebSocket connections accepted."}),
		messagesStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_messages_stored_total", Help: "Messages committed to the store by this node."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_deliveries_total", Help: "new_message frames queued to local connections."}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_slow_consumers_total", Help: "Connections closed with 1013 because their outbound queue was full."}),
		ephemeralDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_ephemeral_dropped_total", Help: "Presence and typing frames not queued because the connection's queue was half full."}),
		badFrames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_bad_frames_total", Help: "Frames refused as malformed or of unknown type."}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_rate_limited_total", Help: "Messages refused by the per-user rate limit."}),
		gapFills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_bus_gap_fills_total", Help: "Room messages fetched from the store because the bus lost or reordered them."}),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_registrations_total", Help: "Accounts created."}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_login_failures_total", Help: "Failed logins."}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chatd_store_duration_seconds",
			Help:    "Latency of store operations.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op"}),
		storeFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_store_failures_total",
			Help: "Store operations that failed because the store did (unavailable or internal), by operation.",
		}, []string{"op"}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatd_hub_rooms", Help: "Rooms this node is subscribed to."}),
	}
	m.failures = newStoreFailures(log, func(op string) { m.storeFailed.WithLabelValues(op).Inc() })
	reg.MustRegister(m.connections, m.connectsTotal, m.messagesStored, m.deliveries, m.slowConsumers, m.ephemeralDropped,
		m.badFrames, m.rateLimited, m.gapFills, m.registrations, m.loginFailures, m.storeLatency, m.storeFailed, m.rooms)
	return m
}

// timed runs a store operation and records its latency under op; if the
// store failed, it counts and logs that too (storeFailures).
func timed[T any](m *metrics, op string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	m.storeLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	return v, m.failures.failed(op, err)
}

// timedErr is timed for a store operation that returns only an error.
func timedErr(m *metrics, op string, f func() error) error {
	_, err := timed(m, op, func() (struct{}, error) { return struct{}{}, f() })
	return err
}
