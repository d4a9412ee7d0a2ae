package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus metrics; it is also the app's
// Observer (decisions, list queries).
type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	listTime  prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portcullis_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_decisions_total", Help: "Access decisions by result.",
		}, []string{"allowed"}),
		listTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "portcullis_list_query_duration_seconds", Help: "Record list query latency.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.decisions, m.listTime)
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Decision implements app.Observer.
func (m *metrics) Decision(allowed bool) {
	m.decisions.WithLabelValues(strconv.FormatBool(allowed)).Inc()
}

// ListQuery implements app.Observer.
func (m *metrics) ListQuery(d time.Duration) { m.listTime.Observe(d.Seconds()) }
