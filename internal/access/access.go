// Package access decides what a listener's request reaches, the same way
// on every node: the space directory both ports read, the join tickets.
package access

import (
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/gate"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
)

// Dir is where the public port reads spaces: the store on a node that
// keeps them, the cluster's control plane on an edge.
type Dir interface {
	Space(id string) (store.Space, error)
	Spaces() ([]store.Space, error)
}

// Checker loads a request's space and checks its ticket. Dir and Gate are
// set before the node answers; the keyring is swapped whole when keys
// rotate or arrive from the cluster.
type Checker struct {
	Dir  Dir
	Gate *gate.Gate
	Log  *slog.Logger
	keys atomic.Pointer[ticket.Keyring]
}

// Keys is the ticket keyring.
func (a *Checker) Keys() *ticket.Keyring { return a.keys.Load() }

// SetKeys replaces the ticket keyring (a rotation, or an edge's copy of the
// cluster's keys): tickets signed with any key it holds verify.
func (a *Checker) SetKeys(kr *ticket.Keyring) { a.keys.Store(kr) }

// TicketCookie names the cookie that carries a space's join ticket, for
// players that cannot add ?t=. One per space: joining another space in
// another tab must not replace it.
func TicketCookie(space string) string { return "onair_ticket_" + space }

// HLSGrace is how long after its expiry a ticket still opens HLS playlists:
// an HLS player keeps fetching for the whole show with the URL it was
// given, while the expiry only bounds when a listener may start.
const HLSGrace = 12 * time.Hour

// CheckTicket verifies the request's ticket for space id: 401 when there is
// none, 403 when it is forged, expired or for another space. It costs one
// HMAC and no store lookup, so it runs before anything else.
func (a *Checker) CheckTicket(w http.ResponseWriter, r *http.Request, id string) (ticket.Claims, bool) {
	return a.CheckTicketAt(w, r, id, time.Now())
}

// CheckTicketAt is CheckTicket with the ticket judged as of at.
func (a *Checker) CheckTicketAt(w http.ResponseWriter, r *http.Request, id string, at time.Time) (ticket.Claims, bool) {
	tok := RequestTicket(r, id)
	if tok == "" {
		a.Gate.CountFrom(r, "ticket", "rejected", "no_ticket")
		httpapi.WriteError(w, http.StatusUnauthorized, "no_ticket", "missing ticket: POST /api/v1/spaces/"+id+"/join first, then pass ?t=TICKET")
		return ticket.Claims{}, false
	}
	c, err := a.Keys().Verify(tok, id, at)
	if err != nil {
		msg, reason := "invalid ticket", "forged"
		switch {
		case errors.Is(err, ticket.ErrExpired):
			msg, reason = "ticket expired: join again", "expired"
		case errors.Is(err, ticket.ErrWrongSpace):
			msg, reason = "ticket is for another space", "wrong_space"
		}
		a.Gate.CountFrom(r, "ticket", "rejected", reason)
		httpapi.WriteError(w, http.StatusForbidden, "bad_ticket", msg)
		return c, false
	}
	// A valid ticket used from more networks than one listener has is a
	// stolen or shared one (see gate.TicketFrom).
	if !a.Gate.TicketUsed(r, c.Listener, c.Expires.Add(HLSGrace)) {
		a.Gate.CountFrom(r, "ticket", "rejected", "replayed")
		httpapi.WriteError(w, http.StatusForbidden, "replayed_ticket", "this ticket is in use from too many networks: join again")
		return c, false
	}
	// An admitted listener: its connection is bounded by admission now,
	// not by the per-source caps (a crowd behind one NAT holds thousands).
	gate.AdmitConn(r, c.Listener)
	return c, true
}

// RequestTicket is the ticket a listener's request carries: ?t=, else the
// space's ticket cookie.
func RequestTicket(r *http.Request, id string) string {
	if tok := r.URL.Query().Get("t"); tok != "" {
		return tok
	}
	if c, err := r.Cookie(TicketCookie(id)); err == nil {
		return c.Value
	}
	return ""
}

// IsTicket reports whether tok is a valid ticket for space.
func (a *Checker) IsTicket(tok, space string) bool {
	_, err := a.Keys().Verify(tok, space, time.Now())
	return err == nil
}

// LoadSpace loads the space named in the path; it answers 404 for an unknown space id.
func (a *Checker) LoadSpace(w http.ResponseWriter, r *http.Request) (store.Space, bool) {
	id := r.PathValue("id")
	sp, err := a.Dir.Space(id)
	if err != nil {
		if err == store.ErrNotFound {
			httpapi.WriteError(w, http.StatusNotFound, "unknown_space", "no space with id "+httpapi.Quote(id))
		} else {
			a.Log.Error("store", "err", err)
			httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not read the space")
		}
		return sp, false
	}
	return sp, true
}
