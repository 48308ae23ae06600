package origin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
)

type handReq struct {
	Name string `json:"name"`
}

// handView is a hand as its own listener sees it: with the key to read the
// answer, and the speaker link once accepted.
type handView struct {
	hand
	Key    string `json:"key,omitempty"`
	Studio string `json:"studio,omitempty"`
}

// handleRaise takes a listener's raised hand (public port, join budget,
// a valid ticket for the space: it passed the gate like a join).
func (s *Origin) handleRaise(w http.ResponseWriter, r *http.Request) {
	sp, ok := s.LoadSpace(w, r)
	if !ok {
		return
	}
	if sp.State == store.Ended {
		httpapi.WriteError(w, http.StatusConflict, "ended", "the show has ended")
		return
	}
	c, ok := s.CheckTicket(w, r, sp.ID)
	if !ok {
		return
	}
	var req handReq
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if !speakerName.MatchString(req.Name) {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_name", "name: 1-64 letters, digits, spaces, . _ -")
		return
	}
	hd, err := s.hands.raise(sp.ID, c.Listener, req.Name, time.Now())
	switch {
	case errors.Is(err, errHandTooSoon):
		w.Header().Set("Retry-After", strconv.Itoa(int(handEvery/time.Second)))
		httpapi.WriteError(w, http.StatusTooManyRequests, "too_soon", err.Error())
	case errors.Is(err, errHandsFull):
		w.Header().Set("Retry-After", "60")
		httpapi.WriteError(w, http.StatusTooManyRequests, "hands_full", err.Error())
	case err != nil:
		httpapi.WriteError(w, http.StatusInternalServerError, "hands", err.Error())
	default:
		s.log.Info("hand raised", "space", sp.ID, "hand", hd.Ref, "name", hd.Name)
		httpapi.WriteJSON(w, http.StatusCreated, handView{hand: *hd, Key: hd.key})
	}
}

// handleHand answers a listener asking about their own hand (by its key).
func (s *Origin) handleHand(w http.ResponseWriter, r *http.Request) {
	hd, ok := s.hands.byKey(r.PathValue("id"), r.PathValue("key"))
	if !ok {
		httpapi.WriteError(w, http.StatusNotFound, "no_hand", "no such raised hand (it may have expired): raise it again")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, handView{hand: hd, Studio: hd.studio})
}

// handleLower takes a listener's own hand down.
func (s *Origin) handleLower(w http.ResponseWriter, r *http.Request) {
	if !s.hands.lower(r.PathValue("id"), r.PathValue("key")) {
		httpapi.WriteError(w, http.StatusNotFound, "no_hand", "no such raised hand")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleHands lists the waiting hands for hosts.
func (s *Origin) handleHands(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireHost(w, r, "see raised hands")
	if !ok {
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"hands": s.hands.waitingList(sp.ID)})
}

// handleAccept brings a raised hand on stage: a speaker invite under the
// listener's name, whose studio link their page then shows them.
func (s *Origin) handleAccept(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireHost(w, r, "accept raised hands")
	if !ok {
		return
	}
	hd, err := s.hands.answer(sp.ID, r.PathValue("hand"), "accepted", func(name string) (string, error) {
		_, tok, err := s.st.CreateInvite(sp.ID, store.RoleSpeaker, name, time.Now().UTC())
		return s.studioLink(sp.ID, tok), err
	})
	s.answered(w, sp, hd, err)
}

// handleDismiss turns a raised hand down.
func (s *Origin) handleDismiss(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireHost(w, r, "dismiss raised hands")
	if !ok {
		return
	}
	hd, err := s.hands.answer(sp.ID, r.PathValue("hand"), "dismissed", nil)
	s.answered(w, sp, hd, err)
}

func (s *Origin) answered(w http.ResponseWriter, sp store.Space, hd hand, err error) {
	switch {
	case errors.Is(err, errNoHand):
		httpapi.WriteError(w, http.StatusNotFound, "no_hand", "no waiting hand with that id")
	case errors.Is(err, store.ErrNameTaken):
		httpapi.WriteError(w, http.StatusConflict, "name_taken", "an invite of this space already has the name "+httpapi.Quote(hd.Name)+": dismiss or revoke first")
	case err != nil:
		httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not store the invite")
	default:
		s.log.Info("hand answered", "space", sp.ID, "hand", hd.Ref, "status", hd.Status)
		httpapi.WriteJSON(w, http.StatusOK, hd)
	}
}
