// Package forward hands an edge's public requests about the stage to the
// active origin over NATS request/reply, and answers them there.
package forward

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// An edge keeps no stage: raised hands, reactions and the stage documents
// live on the active origin. The edge gates such a request like any other
// (budgets, a valid ticket), then hands it to the origin over NATS; the
// origin answers it with the same handlers a single process uses, so one
// code path serves both layouts.

// subject is where the active origin takes edges' requests; a
// queue group, so a standby origin that subscribes too never answers twice.
const (
	subject = "onair.origin.http"
	queue   = "origins"
	// forwardTimeout bounds a forwarded request: a stage document or a hand
	// is worth a quick "try again", never a listener's connection held.
	forwardTimeout = 2 * time.Second
	maxForwardBody = 16 << 10
)

// The public routes about the stage: an edge hands them to the origin,
// which answers them with the handlers one process uses.
const (
	RouteStage = "GET /stage/{file}"
	RouteRaise = "POST /api/v1/spaces/{id}/hands"
	RouteReact = "POST /api/v1/spaces/{id}/react"
	RouteHand  = "GET /api/v1/spaces/{id}/hands/{key}"
	RouteLower = "DELETE /api/v1/spaces/{id}/hands/{key}"
)

// Routes are all of them: what an edge forwards.
var Routes = []string{RouteStage, RouteRaise, RouteReact, RouteHand, RouteLower}

// forwardedHeaders are the only request headers that travel: what the
// handlers read, nothing that could claim another identity.
var forwardedHeaders = []string{"Content-Type", "Onair-Ticket", "Cookie", "If-None-Match"}

type forwardReq struct {
	Method string            `json:"m"`
	URI    string            `json:"u"` // path and query
	Header map[string]string `json:"h,omitempty"`
	Body   []byte            `json:"b,omitempty"`
	Remote string            `json:"r"` // the listener's address, for the origin's per-ticket checks
}

type forwardResp struct {
	Status int               `json:"s"`
	Header map[string]string `json:"h,omitempty"`
	Body   []byte            `json:"b,omitempty"`
}

// Send sends r to the active origin over nc and writes its answer.
func Send(nc *nats.Conn, w http.ResponseWriter, r *http.Request) {
	req := forwardReq{Method: r.Method, URI: r.URL.RequestURI(), Remote: r.RemoteAddr, Header: map[string]string{}}
	for _, h := range forwardedHeaders {
		if v := r.Header.Get(h); v != "" {
			req.Header[h] = v
		}
	}
	if r.Body != nil {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForwardBody))
		if err != nil {
			httpapi.WriteError(w, http.StatusRequestEntityTooLarge, "too_large", "request body over 16 KiB")
			return
		}
		req.Body = b
	}
	msg, _ := json.Marshal(req)
	reply, err := nc.Request(subject, msg, forwardTimeout)
	var resp forwardResp
	if err == nil {
		err = json.Unmarshal(reply.Data, &resp)
	}
	if err != nil || resp.Status < 100 || resp.Status > 599 {
		metricForward.WithLabelValues("unanswered").Inc()
		w.Header().Set("Retry-After", "1")
		httpapi.WriteError(w, http.StatusServiceUnavailable, "no_origin", "the show's origin did not answer; try again")
		return
	}
	metricForward.WithLabelValues("answered").Inc()
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// Answer makes this origin answer edges' requests with h, until the
// returned function is called.
func Answer(nc *nats.Conn, h http.Handler) (stop func(), err error) {
	sub, err := nc.QueueSubscribe(subject, queue, func(m *nats.Msg) {
		var req forwardReq
		if json.Unmarshal(m.Data, &req) != nil || len(req.Body) > maxForwardBody {
			metricForward.WithLabelValues("malformed").Inc()
			return // a foreign or broken message: the edge times out and says so
		}
		_ = m.Respond(answerForward(h, req))
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

func answerForward(h http.Handler, req forwardReq) []byte {
	r, err := http.NewRequest(req.Method, req.URI, bytes.NewReader(req.Body))
	rec := &answerBuffer{header: http.Header{}, code: http.StatusOK}
	if err != nil || r.URL.Host != "" {
		rec.code = http.StatusBadRequest
	} else {
		for k, v := range req.Header {
			r.Header.Set(k, v)
		}
		r.RemoteAddr = req.Remote
		r.ContentLength = int64(len(req.Body))
		h.ServeHTTP(rec, r)
	}
	resp := forwardResp{Status: rec.code, Header: map[string]string{}, Body: rec.body.Bytes()}
	for k := range rec.header {
		resp.Header[k] = rec.header.Get(k)
	}
	out, _ := json.Marshal(resp)
	return out
}

// answerBuffer holds a forwarded request's answer for the reply.
type answerBuffer struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (a *answerBuffer) Header() http.Header { return a.header }

func (a *answerBuffer) WriteHeader(code int) {
	if !a.wrote {
		a.code, a.wrote = code, true
	}
}

func (a *answerBuffer) Write(b []byte) (int, error) {
	a.wrote = true
	return a.body.Write(b)
}

// metricForward counts an edge's stage requests handed to the origin, by
// result (answered, unanswered), and an origin's malformed ones.
var metricForward = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "onair_origin_forwards_total", Help: "Stage requests an edge handed to the origin, by result (answered, unanswered, malformed).",
}, []string{"result"})
