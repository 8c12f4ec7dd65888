// Package metrics exposes muc-kick's state and counters in the Prometheus
// format, every name prefixed muc_kick_. It reads the component and the room
// manager through small interfaces, so neither depends on Prometheus.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Component is what is read of the XMPP connection.
type Component interface {
	Connected() bool
	Reconnects() uint64
	InFlight() int
	Malformed() uint64
	Ignored() uint64
	UnmatchedReplies() uint64
}

// Rooms is what is read of the room manager.
type Rooms interface {
	Rooms() int
	Entries() uint64
}

// Metrics holds muc-kick's registry.
type Metrics struct {
	reg      *prometheus.Registry
	kicks    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New registers muc-kick's metrics, and Go's and the process's, in a
// registry of its own.
func New(c Component, r Rooms) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		kicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muc_kick_kicks_total",
			Help: "Kick, ban and unban requests by outcome (kicked, occupant-not-found, unauthorized, …).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "muc_kick_http_request_duration_seconds",
			Help:    "Time from a kick, ban or unban request's arrival to its answer, by status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"code"}),
	}
	m.reg.MustRegister(
		m.kicks, m.duration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "muc_kick_component_connected",
			Help: "1 while the XEP-0114 stream to the XMPP server is authenticated, else 0.",
		}, func() float64 {
			if c.Connected() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "muc_kick_component_reconnects_total",
			Help: "Streams to the XMPP server that ended and were dialled again.",
		}, func() float64 { return float64(c.Reconnects()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "muc_kick_stanzas_dropped_total",
			Help: "Elements received from the XMPP server that did not decode whole, were over 256 KiB, were not a stanza, or made a handler panic (a presence or message is still acted on for what decodes).",
		}, func() float64 { return float64(c.Malformed()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "muc_kick_stanzas_ignored_total",
			Help: "Presences and messages from no configured MUC domain, read past without being decoded (an XMPP user writing to the component's address).",
		}, func() float64 { return float64(c.Ignored()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "muc_kick_unmatched_replies_total",
			Help: "IQ replies dropped because no request waited for them (late, unknown id, or from another address).",
		}, func() float64 { return float64(c.UnmatchedReplies()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "muc_kick_iqs_in_flight",
			Help: "IQs sent to the XMPP server and waiting for their reply.",
		}, func() float64 { return float64(c.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "muc_kick_rooms_entered",
			Help: "Rooms the component is in now.",
		}, func() float64 { return float64(r.Rooms()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "muc_kick_room_entries_total",
			Help: "Times the component entered a room to kick from it.",
		}, func() float64 { return float64(r.Entries()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Observe records one kick request; its signature fits httpapi.Options.
func (m *Metrics) Observe(outcome string, code int, d time.Duration) {
	m.kicks.WithLabelValues(outcome).Inc()
	m.duration.WithLabelValues(strconv.Itoa(code)).Observe(d.Seconds())
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
