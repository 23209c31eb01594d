package worker

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// PrometheusMetrics returns a Temporal SDK metrics handler that records the SDK's
// client and worker metrics (requests, polls, task latencies, schedule-to-start,
// cache sizes ...) and the workflows' own (workflow.GetMetricsHandler) in reg, for
// /metrics. Each metric name gets the tag keys of its first use as its labels; a
// later use fills a missing key with "" and drops a key it does not have, so a
// name never needs two label sets.
func PrometheusMetrics(reg prometheus.Registerer) client.MetricsHandler {
	return &promHandler{m: &promMetrics{reg: reg, vecs: map[string]*promVec{}}}
}

type promMetrics struct {
	reg  prometheus.Registerer
	mu   sync.Mutex
	vecs map[string]*promVec
}

type promVec struct {
	labels    []string
	counter   *prometheus.CounterVec
	gauge     *prometheus.GaugeVec
	histogram *prometheus.HistogramVec
}

type promHandler struct {
	m    *promMetrics
	tags map[string]string
}

func (h *promHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &promHandler{m: h.m, tags: merged}
}

func (h *promHandler) Counter(name string) client.MetricsCounter {
	v := h.m.vec(name, "counter", h.tags)
	return counterFunc(func(d int64) { v.counter.WithLabelValues(v.values(h.tags)...).Add(float64(d)) })
}

func (h *promHandler) Gauge(name string) client.MetricsGauge {
	v := h.m.vec(name, "gauge", h.tags)
	return gaugeFunc(func(f float64) { v.gauge.WithLabelValues(v.values(h.tags)...).Set(f) })
}

func (h *promHandler) Timer(name string) client.MetricsTimer {
	v := h.m.vec(name, "timer", h.tags)
	return timerFunc(func(d time.Duration) {
		v.histogram.WithLabelValues(v.values(h.tags)...).Observe(d.Seconds())
	})
}

type (
	counterFunc func(int64)
	gaugeFunc   func(float64)
	timerFunc   func(time.Duration)
)

func (f counterFunc) Inc(d int64)          { f(d) }
func (f gaugeFunc) Update(v float64)       { f(v) }
func (f timerFunc) Record(d time.Duration) { f(d) }

var invalidName = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// vec returns the metric of that name, registering it on first use.
func (m *promMetrics) vec(name, kind string, tags map[string]string) *promVec {
	name = invalidName.ReplaceAllString(name, "_")
	m.mu.Lock()
	defer m.mu.Unlock()
	key := kind + ":" + name
	if v, ok := m.vecs[key]; ok {
		return v
	}
	v := &promVec{}
	for k := range tags {
		v.labels = append(v.labels, invalidName.ReplaceAllString(k, "_"))
	}
	sort.Strings(v.labels)
	help := "Temporal SDK metric " + name
	var c prometheus.Collector
	switch kind {
	case "counter":
		if !strings.HasSuffix(name, "_total") {
			name += "_total"
		}
		v.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, v.labels)
		c = v.counter
	case "gauge":
		v.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, v.labels)
		c = v.gauge
	default:
		v.histogram = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name + "_seconds", Help: help}, v.labels)
		c = v.histogram
	}
	if err := m.reg.Register(c); err != nil {
		// Registered elsewhere under this name: use that one, or else keep ours
		// unregistered rather than fail the worker over a metric.
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			switch existing := are.ExistingCollector.(type) {
			case *prometheus.CounterVec:
				v.counter = existing
			case *prometheus.GaugeVec:
				v.gauge = existing
			case *prometheus.HistogramVec:
				v.histogram = existing
			}
		}
	}
	m.vecs[key] = v
	return v
}

// values are the label values of tags in v's label order.
func (v *promVec) values(tags map[string]string) []string {
	out := make([]string, len(v.labels))
	for i, l := range v.labels {
		out[i] = tags[l] // a tag key with characters replaced is not found: ""
	}
	return out
}
