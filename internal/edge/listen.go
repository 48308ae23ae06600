package edge

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/access"
	"github.com/onair-live/onair/internal/fanout"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
)

type joinResp struct {
	Ticket   string      `json:"ticket"`
	Expires  time.Time   `json:"expires"`
	Ogg      string      `json:"ogg"`
	HLS      string      `json:"hls"`
	WHEP     string      `json:"whep,omitempty"`
	Prefer   string      `json:"prefer"` // the protocol this node would rather serve now
	State    store.State `json:"state"`
	StartsAt time.Time   `json:"starts_at"`
	Title    string      `json:"title"`
	// Edge names the node the media URLs point at; Alternates are the base
	// URLs of other edges that carry the same space, for a player whose
	// edge goes away: it re-joins there with its ticket (a renewal).
	Edge       string   `json:"edge,omitempty"`
	Alternates []string `json:"alternates,omitempty"`
}

// handleJoin issues a signed, short-lived ticket for one space.
func (s *Edge) handleJoin(w http.ResponseWriter, r *http.Request) {
	if s.refuseUnfed(w) {
		s.gate.CountFrom(r, "join", "rejected", "no_bus")
		return
	}
	sp, ok := s.LoadSpace(w, r)
	if !ok {
		s.gate.CountFrom(r, "join", "rejected", "unknown_space")
		return
	}
	if sp.State == store.Ended {
		s.gate.CountFrom(r, "join", "rejected", "ended")
		httpapi.WriteJSON(w, http.StatusGone, httpapi.Error{Code: "ended", Error: "the show has ended; the replay is available",
			Replay: s.cfg.PublicURL + "/replay/" + sp.ID + ".opus"})
		return
	}
	// A listener renewing its ticket is already in: it neither queues nor
	// solves a proof of work again. Everyone else passes admission: under
	// attack a proof of work first, then a place in line when the node
	// takes newcomers more slowly than they come.
	held, renewing := s.heldTicket(r, sp.ID)
	if renewing {
		s.gate.Count("join", "renewed", "ticket")
	} else if !s.gate.Admit(w, r, sp.ID) {
		return
	}
	var tok string
	var c ticket.Claims
	var err error
	if renewing {
		tok, c, err = s.Keys().Renew(held, s.cfg.TicketTTL, time.Now())
	} else {
		tok, c, err = s.Keys().Issue(sp.ID, s.cfg.TicketTTL, time.Now())
	}
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "ticket", err.Error())
		return
	}
	s.gate.Issued(r, sp.ID, c.Listener, c.Expires.Add(access.HLSGrace), !renewing)
	s.hub.Stream(sp.ID) // packaging starts now, so the playlist is ready when the player asks
	http.SetCookie(w, &http.Cookie{Name: access.TicketCookie(sp.ID), Value: tok, Path: "/", Expires: c.Expires.Add(access.HLSGrace),
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	base, edge, alts := s.mediaBase(renewing)
	if alts == nil {
		alts = s.otherEdges(sp.ID)
	}
	resp := joinResp{Ticket: tok, Expires: c.Expires, State: sp.State, StartsAt: sp.StartsAt, Title: sp.Title,
		Ogg:    base + "/live/" + sp.ID + ".opus?t=" + tok,
		HLS:    hlsURL(base, sp.ID, tok, alts),
		Prefer: "hls", Edge: edge, Alternates: alts}
	if s.whepWelcome() {
		resp.WHEP, resp.Prefer = base+"/whep/"+sp.ID+"?t="+tok, "whep"
	} else {
		s.gate.Count("ladder", "steered", "hls")
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
}

// renewGrace is how long after its expiry a ticket still renews without
// queueing: a page that slept through its renewal (a laptop lid) or a
// player that renews late is still the same listener.
const renewGrace = 5 * time.Minute

// heldTicket returns the valid ticket for space id that a join carries (the
// ticket cookie the join set, or an Onair-Ticket header), if it may be
// renewed: signed, for this space, not expired for more than renewGrace, and
// not in use from more networks than one listener has.
func (s *Edge) heldTicket(r *http.Request, id string) (ticket.Claims, bool) {
	tok := r.Header.Get("Onair-Ticket")
	if tok == "" {
		if ck, err := r.Cookie(access.TicketCookie(id)); err == nil {
			tok = ck.Value
		}
	}
	if tok == "" {
		return ticket.Claims{}, false
	}
	c, err := s.Keys().Verify(tok, id, time.Now().Add(-renewGrace))
	if err != nil || !s.gate.TicketFrom(r, c.Listener, c.Expires.Add(access.HLSGrace)) {
		return ticket.Claims{}, false // a newcomer, then
	}
	return c, true
}

// whepWelcome is the top of the degrade ladder: WebRTC, the costliest
// protocol, is offered only while it has room and the node has headroom;
// otherwise newcomers are steered to LL-HLS before anyone has to wait.
func (s *Edge) whepWelcome() bool {
	l, capacity := s.gate.Headroom()
	busy := l.CPU > 0.7 || (capacity > 0 && l.Listeners > capacity*8/10)
	return !busy && s.whep.Sessions().Len() < s.cfg.WHEPMax*9/10
}

// resumeBurst is the start-up burst, in 100 ms pages, of a listener page
// that lost its edge (?resume=1): Chromium plays a live Ogg stream only
// once it has about 30 KB, 5 s at 48 kb/s, so the page gets that at once
// and is on air again in about a second rather than five.
const resumeBurst = 50

// handleLive streams the program as progressive Ogg/Opus.
func (s *Edge) handleLive(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".opus")
	if !ok {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "live streams are at /live/{id}.opus")
		return
	}
	r.SetPathValue("id", id)
	if _, ok := s.CheckTicket(w, r, id); !ok {
		return
	}
	sp, ok := s.LoadSpace(w, r)
	if !ok {
		return
	}
	if sp.State == store.Ended {
		httpapi.WriteJSON(w, http.StatusGone, httpapi.Error{Code: "ended", Error: "the show has ended",
			Replay: s.cfg.PublicURL + "/replay/" + id + ".opus"})
		return
	}
	// A live program sends a page every 100 ms; one that sends nothing for
	// seconds ended in a race with this request. Before the show starts, the
	// listener waits (holding headers back) until the first page.
	firstWait := time.Duration(0)
	if sp.State == store.Live {
		firstWait = 5 * time.Second
	}
	burst := s.hub.Config().BurstPages
	if r.URL.Query().Get("resume") == "1" {
		burst = resumeBurst
	}
	err := s.hub.Stream(id).AttachBurst(r.Context(), w, firstWait, burst)
	if errors.Is(err, fanout.ErrNoProgram) {
		httpapi.WriteError(w, http.StatusServiceUnavailable, "no_program", "the program is not available; try again")
	}
}
