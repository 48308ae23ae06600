package origin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// stageTTL is how long one rendering of a stage document is served, and
// its max-age: listener pages poll every second or two, so a cache in front
// sends the node about one request a second per space, whatever the crowd.
const stageTTL = time.Second

// stageDoc is the stage as every listener sees it: the same bytes for all,
// so nothing per listener may go in.
type stageDoc struct {
	ID           string         `json:"id"`
	Title        string         `json:"title"`
	State        store.State    `json:"state"`
	StartsAt     time.Time      `json:"starts_at"`
	AutoStart    bool           `json:"auto_start"`
	StartedAt    time.Time      `json:"started_at,omitzero"`
	StartDelayMS *int64         `json:"start_delay_ms,omitempty"`
	EndedAt      time.Time      `json:"ended_at,omitzero"`
	Listeners    int64          `json:"listeners"`
	OnStage      []stageMember  `json:"on_stage"`
	Hands        int            `json:"hands"`               // raised hands waiting for an answer
	Reactions    map[string]int `json:"reactions,omitempty"` // emoji → count in the last 3 whole seconds
	Replay       string         `json:"replay,omitempty"`
}

// stageMember is one person on stage: no levels, only what a listener page shows.
type stageMember struct {
	Name    string     `json:"name"`
	Role    store.Role `json:"role"`
	Talking bool       `json:"talking"`
	Muted   bool       `json:"muted,omitempty"`
}

// stageCopy is one rendering of a space's stage document.
type stageCopy struct {
	body  []byte
	etag  string
	at    time.Time
	until time.Time // served no later than this
}

// stageUntil is when a copy made at now of sp goes stale: after stageTTL,
// or at the scheduled start, so that pages waiting for it see it go live.
func stageUntil(sp store.Space, now time.Time) time.Time {
	until := now.Add(stageTTL)
	switch {
	case sp.State != store.Scheduled:
	case sp.StartsAt.After(now) && sp.StartsAt.Before(until):
		until = sp.StartsAt
	case sp.AutoStart && !sp.StartsAt.After(now):
		until = now.Add(50 * time.Millisecond) // due: live any moment now
	}
	return until
}

// stageDocs keeps the latest rendering per space; a request within stageTTL
// of it gets the same bytes.
type stageDocs struct {
	mu     sync.Mutex
	copies map[string]*stageCopy
}

func (d *stageDocs) get(id string, now time.Time) *stageCopy {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.copies[id]; c != nil && now.Before(c.until) {
		return c
	}
	return nil
}

func (d *stageDocs) put(id string, c *stageCopy) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.copies == nil {
		d.copies = make(map[string]*stageCopy)
	}
	d.copies[id] = c
}

// stageOf renders the stage document of sp now.
func (s *Origin) stageOf(sp store.Space, now time.Time) stageDoc {
	doc := stageDoc{ID: sp.ID, Title: sp.Title, State: sp.State, StartsAt: sp.StartsAt, AutoStart: sp.AutoStart,
		StartedAt: sp.StartedAt, EndedAt: sp.EndedAt, OnStage: []stageMember{}}
	if !sp.StartedAt.IsZero() {
		d := sp.StartDelay().Milliseconds()
		doc.StartDelayMS = &d
	}
	switch sp.State {
	case store.Ended:
		if !sp.StartedAt.IsZero() {
			doc.Replay = "/replay/" + sp.ID + ".opus"
		}
		return doc
	case store.Live:
		doc.Listeners = s.listeners(sp.ID)
	}
	for _, spk := range s.speakers(sp.ID) {
		doc.OnStage = append(doc.OnStage, stageMember{Name: spk.Name, Role: spk.Role, Talking: spk.Talking, Muted: spk.Muted})
	}
	doc.Hands = s.hands.waiting(sp.ID)
	if sp.State == store.Live {
		doc.Reactions = s.reactions.lastSeconds(sp.ID, now)
	}
	return doc
}

// handleStage serves GET /stage/{id}.json on the public port: one
// cacheable document per space with who is on stage, who is talking, the
// listener count and the schedule.
func (s *Origin) handleStage(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok || id == "" {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "the stage document is /stage/{id}.json")
		return
	}
	now := time.Now()
	c := s.stageDocs.get(id, now)
	result := "cached"
	if c == nil {
		sp, err := s.Dir.Space(id)
		if err != nil {
			httpapi.WriteError(w, http.StatusNotFound, "unknown_space", "no space with id "+httpapi.Quote(id))
			return
		}
		body, _ := json.Marshal(s.stageOf(sp, now))
		sum := sha256.Sum256(body)
		c = &stageCopy{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, at: now, until: stageUntil(sp, now)}
		s.stageDocs.put(id, c)
		result = "built"
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Public, for a second: shared caches keep it and collapse the crowd.
	h.Set("Cache-Control", "public, max-age=1")
	h.Set("ETag", c.etag)
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == c.etag {
		metricStage.WithLabelValues("not_modified").Inc()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	metricStage.WithLabelValues(result).Inc()
	h.Set("Content-Length", strconv.Itoa(len(c.body)))
	_, _ = w.Write(c.body)
}

// metricStage counts stage-document requests by result: "built" (rendered
// afresh), "cached" (the same bytes again), "not_modified" (a 304): behind
// a cache, about one request a second per space reaches the node.
var metricStage = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "onair_stage_requests_total", Help: "Stage document requests answered, by result (built, cached, not_modified).",
}, []string{"result"})
