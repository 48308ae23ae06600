package server

import (
	"errors"
	"net/http"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/whep"
)

// handleWHIP takes a speaker in over WebRTC (RFC 9725).
func (s *Server) handleWHIP(w http.ResponseWriter, r *http.Request) {
	sp, c, name, ok := s.requireSpeaker(w, r)
	if !ok {
		return
	}
	if sp.State == store.Ended {
		httpapi.WriteError(w, http.StatusConflict, "ended", "the space has ended")
		return
	}
	offer, ok := httpapi.ReadOffer(w, r)
	if !ok {
		return
	}
	attach := func(o mix.SpeakerOptions) (*mix.Speaker, error) { return s.attachSpeaker(sp, c, name, o) }
	answer, sess, err := s.whip.Publish(r.Context(), sp.ID, name, offer, attach)
	switch {
	case errors.Is(err, space.ErrEnded), errors.Is(err, mix.ErrFull), errors.Is(err, errSeatTaken), errors.Is(err, errRevoked):
		speakerError(w, err)
	case err != nil:
		httpapi.NegotiationError(w, err)
	default:
		s.log.Info("WHIP speaker connected", "space", sp.ID, "speaker", name, "session", sess.ID)
		httpapi.WriteAnswer(w, "/whip/"+sp.ID+"/"+sess.ID, answer)
	}
}

// handleWHIPDelete ends a speaker's WHIP session: any token that may speak
// (the session id, known only to its speaker and the hosts, is the capability).
func (s *Server) handleWHIPDelete(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireRole(w, r, store.RoleSpeaker, "leave the stage")
	if !ok {
		return
	}
	sess := s.whip.Sessions().Get(sp.ID, r.PathValue("session"))
	if sess == nil || !s.whip.Sessions().Close(sess.ID) {
		httpapi.WriteError(w, http.StatusNotFound, "no_session", "no such WHIP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleWHEP sends the program to a WebRTC listener (WHEP).
func (s *Server) handleWHEP(w http.ResponseWriter, r *http.Request) {
	whepCORS(w)
	id := r.PathValue("id")
	if _, ok := s.CheckTicket(w, r, id); !ok {
		return
	}
	sp, ok := s.LoadSpace(w, r)
	if !ok {
		return
	}
	if sp.State != store.Live {
		httpapi.WriteError(w, http.StatusConflict, string(sp.State), "WebRTC listening is open while the show is live (state: "+string(sp.State)+")")
		return
	}
	offer, ok := httpapi.ReadOffer(w, r)
	if !ok {
		return
	}
	answer, sess, err := s.whep.Play(r.Context(), sp.ID, offer)
	switch {
	case errors.Is(err, whep.ErrFull):
		s.gate.CountFrom(r, "whep", "rejected", "capacity")
		w.Header().Set("Retry-After", "30")
		httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"code": "whep_full",
			"error": "WebRTC listening is full on this node; listen over HLS instead",
			"hls":   s.cfg.PublicURL + "/hls/" + sp.ID + "/index.m3u8"})
	case err != nil:
		httpapi.NegotiationError(w, err)
	default:
		httpapi.WriteAnswer(w, "/whep/"+sp.ID+"/"+sess.ID, answer)
	}
}

// handleWHEPDelete ends a WHEP session; its id is the capability.
func (s *Server) handleWHEPDelete(w http.ResponseWriter, r *http.Request) {
	whepCORS(w)
	sess := s.whep.Sessions().Get(r.PathValue("id"), r.PathValue("session"))
	if sess == nil || !s.whep.Sessions().Close(sess.ID) {
		httpapi.WriteError(w, http.StatusNotFound, "no_session", "no such WHEP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleWHEPOptions answers CORS preflights of players on other origins.
func (s *Server) handleWHEPOptions(w http.ResponseWriter, _ *http.Request) {
	whepCORS(w)
	w.Header().Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func whepCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Location")
}
