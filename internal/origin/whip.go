package origin

import (
	"errors"
	"net/http"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
)

// handleWHIP takes a speaker in over WebRTC (RFC 9725).
func (s *Origin) handleWHIP(w http.ResponseWriter, r *http.Request) {
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
func (s *Origin) handleWHIPDelete(w http.ResponseWriter, r *http.Request) {
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
