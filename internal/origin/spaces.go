package origin

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
)

// spaceView is a space as the host API shows it.
type spaceView struct {
	ID              string            `json:"id"`
	Title           string            `json:"title"`
	StartsAt        time.Time         `json:"starts_at"`
	State           store.State       `json:"state"`
	StartedAt       time.Time         `json:"started_at,omitzero"`
	EndedAt         time.Time         `json:"ended_at,omitzero"`
	RecordedSeconds float64           `json:"recorded_seconds,omitempty"`
	Listeners       int64             `json:"listeners"`
	AutoStart       bool              `json:"auto_start"`
	ScheduledAt     time.Time         `json:"scheduled_at,omitzero"`
	StartDelayMS    *int64            `json:"start_delay_ms,omitempty"` // actual minus scheduled start, once live
	StartedBy       string            `json:"started_by,omitempty"`
	HostToken       string            `json:"host_token,omitempty"`
	Role            store.Role        `json:"role,omitempty"`     // the caller's
	SpeakAs         string            `json:"speak_as,omitempty"` // the caller's name on stage, for an invite
	Speakers        []speakerView     `json:"speakers,omitempty"`
	Invites         []inviteView      `json:"invites,omitempty"`
	URLs            map[string]string `json:"urls"`
}

// speakerView is a speaker as the mixer sees it, with its role on stage.
type speakerView struct {
	mix.SpeakerStats
	Role store.Role `json:"role"`
}

// speakers merges the mixer's speakers with the roles they came with (one
// attached in-process, like the demo's synthetic voice, counts as the host's).
func (s *Origin) speakers(id string) []speakerView {
	roles := s.stage.roles(id)
	stats := s.mgr.Speakers(id)
	out := make([]speakerView, 0, len(stats))
	for _, st := range stats {
		role := roles[st.Name]
		if role == "" {
			role = store.RoleHost
		}
		out = append(out, speakerView{SpeakerStats: st, Role: role})
	}
	return out
}

func (s *Origin) view(sp store.Space) spaceView {
	v := spaceView{ID: sp.ID, Title: sp.Title, StartsAt: sp.StartsAt, State: sp.State,
		StartedAt: sp.StartedAt, EndedAt: sp.EndedAt, RecordedSeconds: sp.RecordedSeconds,
		AutoStart: sp.AutoStart, ScheduledAt: sp.ScheduledAt, StartedBy: sp.StartedBy,
		Listeners: s.listeners(sp.ID), URLs: s.urls(sp.ID)}
	if !sp.StartedAt.IsZero() {
		d := sp.StartDelay().Milliseconds()
		v.StartDelayMS = &d
	}
	return v
}

func (s *Origin) urls(id string) map[string]string {
	pub, host := s.cfg.PublicURL, s.cfg.HostURL
	return map[string]string{
		"page":   pub + "/s/" + id,
		"join":   pub + "/api/v1/spaces/" + id + "/join",
		"replay": pub + "/replay/" + id + ".opus",
		"ingest": host + "/ingest/" + id + "?speaker=NAME",
		"whip":   host + "/whip/" + id + "?speaker=NAME",
		"studio": host + "/studio/" + id,
		"start":  host + "/api/v1/spaces/" + id + "/start",
		"end":    host + "/api/v1/spaces/" + id + "/end",
	}
}

type createReq struct {
	Title     string    `json:"title"`
	StartsAt  time.Time `json:"starts_at"`
	AutoStart bool      `json:"auto_start"`
}

func (s *Origin) handleCreate(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	var req createReq
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	req.Title = strings.TrimSpace(req.Title)
	if req.Title == "" || utf8.RuneCountInString(req.Title) > 200 || !utf8.ValidString(req.Title) {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_title", "title is required, up to 200 characters")
		return
	}
	if req.AutoStart && req.StartsAt.IsZero() {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_schedule", "auto_start needs starts_at: the time to go live")
		return
	}
	now := time.Now().UTC()
	if req.StartsAt.IsZero() {
		req.StartsAt = now
	}
	sp, tok, err := s.st.Create(store.Space{Title: req.Title, StartsAt: req.StartsAt.UTC(), AutoStart: req.AutoStart}, now)
	if err != nil {
		s.log.Error("create space", "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not create the space")
		return
	}
	s.log.Info("space created", "space", sp.ID, "title", sp.Title, "starts_at", sp.StartsAt, "auto_start", sp.AutoStart)
	s.mgr.Schedule(sp)
	v := s.view(sp)
	v.HostToken = tok
	httpapi.WriteJSON(w, http.StatusCreated, v)
}

func (s *Origin) handleList(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	spaces, err := s.st.Spaces()
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not list spaces")
		return
	}
	out := make([]spaceView, 0, len(spaces))
	for _, sp := range spaces {
		out = append(out, s.view(sp))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"spaces": out})
}

func (s *Origin) handleGet(w http.ResponseWriter, r *http.Request) {
	sp, c, ok := s.requireRole(w, r, store.RoleSpeaker, "see the stage")
	if !ok {
		return
	}
	v := s.view(sp)
	v.Role, v.SpeakAs, v.Speakers = c.Role, c.Invite.Name, s.speakers(sp.ID)
	if c.can(store.RoleCohost) {
		v.Invites, _ = s.invitesOf(sp.ID)
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

func (s *Origin) handleStart(w http.ResponseWriter, r *http.Request) {
	s.transition(w, r, "start the show", s.mgr.Start)
}

func (s *Origin) handleEnd(w http.ResponseWriter, r *http.Request) {
	s.transition(w, r, "end the show", s.mgr.End)
}

func (s *Origin) transition(w http.ResponseWriter, r *http.Request, action string, do func(string) (store.Space, error)) {
	sp, _, ok := s.requireHost(w, r, action)
	if !ok {
		return
	}
	sp, err := do(sp.ID)
	switch {
	case errors.Is(err, space.ErrEnded):
		httpapi.WriteError(w, http.StatusConflict, "ended", "the space has ended; create a new one")
	case err != nil:
		s.log.Error("space transition", "space", sp.ID, "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, "internal", err.Error())
	default:
		httpapi.WriteJSON(w, http.StatusOK, s.view(sp))
	}
}
