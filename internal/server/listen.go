package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/fanout"
	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
)

// ticketCookie names the cookie that carries a space's join ticket, for
// players that cannot add ?t=. One per space: joining another space in
// another tab must not replace it.
func ticketCookie(space string) string { return "onair_ticket_" + space }

// hlsGrace is how long after its expiry a ticket still opens HLS playlists:
// an HLS player keeps fetching for the whole show with the URL it was
// given, while the expiry only bounds when a listener may start.
const hlsGrace = 12 * time.Hour

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
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	if s.refuseUnfed(w) {
		s.gate.CountFrom(r, "join", "rejected", "no_bus")
		return
	}
	sp, ok := s.loadSpace(w, r)
	if !ok {
		s.gate.CountFrom(r, "join", "rejected", "unknown_space")
		return
	}
	if sp.State == store.Ended {
		s.gate.CountFrom(r, "join", "rejected", "ended")
		writeJSON(w, http.StatusGone, apiError{Code: "ended", Error: "the show has ended; the replay is available",
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
		writeError(w, http.StatusInternalServerError, "ticket", err.Error())
		return
	}
	s.gate.Issued(r, sp.ID, c.Listener, c.Expires.Add(hlsGrace), !renewing)
	s.hub.Stream(sp.ID) // packaging starts now, so the playlist is ready when the player asks
	http.SetCookie(w, &http.Cookie{Name: ticketCookie(sp.ID), Value: tok, Path: "/", Expires: c.Expires.Add(hlsGrace),
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
	writeJSON(w, http.StatusOK, resp)
}

// renewGrace is how long after its expiry a ticket still renews without
// queueing: a page that slept through its renewal (a laptop lid) or a
// player that renews late is still the same listener.
const renewGrace = 5 * time.Minute

// heldTicket returns the valid ticket for space id that a join carries (the
// ticket cookie the join set, or an Onair-Ticket header), if it may be
// renewed: signed, for this space, not expired for more than renewGrace, and
// not in use from more networks than one listener has.
func (s *Server) heldTicket(r *http.Request, id string) (ticket.Claims, bool) {
	tok := r.Header.Get("Onair-Ticket")
	if tok == "" {
		if ck, err := r.Cookie(ticketCookie(id)); err == nil {
			tok = ck.Value
		}
	}
	if tok == "" {
		return ticket.Claims{}, false
	}
	c, err := s.Keys().Verify(tok, id, time.Now().Add(-renewGrace))
	if err != nil || !s.gate.TicketFrom(r, c.Listener, c.Expires.Add(hlsGrace)) {
		return ticket.Claims{}, false // a newcomer, then
	}
	return c, true
}

// whepWelcome is the top of the degrade ladder: WebRTC, the costliest
// protocol, is offered only while it has room and the node has headroom;
// otherwise newcomers are steered to LL-HLS before anyone has to wait.
func (s *Server) whepWelcome() bool {
	l, capacity := s.gate.Headroom()
	busy := l.CPU > 0.7 || (capacity > 0 && l.Listeners > capacity*8/10)
	return !busy && s.whep.Sessions().Len() < s.cfg.WHEPMax*9/10
}

// checkTicket verifies the request's ticket for space id: 401 when there is
// none, 403 when it is forged, expired or for another space. It costs one
// HMAC and no store lookup, so it runs before anything else.
func (s *Server) checkTicket(w http.ResponseWriter, r *http.Request, id string) (ticket.Claims, bool) {
	return s.checkTicketAt(w, r, id, time.Now())
}

// checkTicketAt is checkTicket with the ticket judged as of at.
func (s *Server) checkTicketAt(w http.ResponseWriter, r *http.Request, id string, at time.Time) (ticket.Claims, bool) {
	tok := requestTicket(r, id)
	if tok == "" {
		s.gate.CountFrom(r, "ticket", "rejected", "no_ticket")
		writeError(w, http.StatusUnauthorized, "no_ticket", "missing ticket: POST /api/v1/spaces/"+id+"/join first, then pass ?t=TICKET")
		return ticket.Claims{}, false
	}
	c, err := s.Keys().Verify(tok, id, at)
	if err != nil {
		msg, reason := "invalid ticket", "forged"
		switch {
		case errors.Is(err, ticket.ErrExpired):
			msg, reason = "ticket expired: join again", "expired"
		case errors.Is(err, ticket.ErrWrongSpace):
			msg, reason = "ticket is for another space", "wrong_space"
		}
		s.gate.CountFrom(r, "ticket", "rejected", reason)
		writeError(w, http.StatusForbidden, "bad_ticket", msg)
		return c, false
	}
	// A valid ticket used from more networks than one listener has is a
	// stolen or shared one (see gate.TicketFrom).
	if !s.gate.TicketUsed(r, c.Listener, c.Expires.Add(hlsGrace)) {
		s.gate.CountFrom(r, "ticket", "rejected", "replayed")
		writeError(w, http.StatusForbidden, "replayed_ticket", "this ticket is in use from too many networks: join again")
		return c, false
	}
	// An admitted listener: its connection is bounded by admission now,
	// not by the per-source caps (a crowd behind one NAT holds thousands).
	gate.AdmitConn(r, c.Listener)
	return c, true
}

// resumeBurst is the start-up burst, in 100 ms pages, of a listener page
// that lost its edge (?resume=1): Chromium plays a live Ogg stream only
// once it has about 30 KB, 5 s at 48 kb/s, so the page gets that at once
// and is on air again in about a second rather than five.
const resumeBurst = 50

// handleLive streams the program as progressive Ogg/Opus.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".opus")
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "live streams are at /live/{id}.opus")
		return
	}
	r.SetPathValue("id", id)
	if _, ok := s.checkTicket(w, r, id); !ok {
		return
	}
	sp, ok := s.loadSpace(w, r)
	if !ok {
		return
	}
	if sp.State == store.Ended {
		writeJSON(w, http.StatusGone, apiError{Code: "ended", Error: "the show has ended",
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
		writeError(w, http.StatusServiceUnavailable, "no_program", "the program is not available; try again")
	}
}

// handleReplay serves the Ogg/Opus recording once the show has ended.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".opus")
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "replays are at /replay/{id}.opus and /replay/{id}/index.m3u8")
		return
	}
	r.SetPathValue("id", id)
	if _, ok := s.endedSpace(w, r); ok {
		serveFile(w, r, s.mgr.RecordingPath(id), "audio/ogg")
	}
}
