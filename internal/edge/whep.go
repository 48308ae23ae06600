package edge

import (
	"errors"
	"net/http"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/whep"
)

// handleWHEP sends the program to a WebRTC listener (WHEP).
func (s *Edge) handleWHEP(w http.ResponseWriter, r *http.Request) {
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
func (s *Edge) handleWHEPDelete(w http.ResponseWriter, r *http.Request) {
	whepCORS(w)
	sess := s.whep.Sessions().Get(r.PathValue("id"), r.PathValue("session"))
	if sess == nil || !s.whep.Sessions().Close(sess.ID) {
		httpapi.WriteError(w, http.StatusNotFound, "no_session", "no such WHEP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleWHEPOptions answers CORS preflights of players on other origins.
func (s *Edge) handleWHEPOptions(w http.ResponseWriter, _ *http.Request) {
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
