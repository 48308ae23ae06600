package server

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/onair-live/onair/internal/store"
)

func (s *Server) isAdmin(tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(store.HashToken(tok)), []byte(s.admin)) == 1
}

// requireAdmin answers 401 for a missing or unknown token and 403 for a
// token that is valid but not the admin key (a host token).
func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	tok := bearer(r)
	switch {
	case s.isAdmin(tok):
		return true
	case tok == "":
		writeError(w, http.StatusUnauthorized, "no_token", "missing token: send the admin key as Authorization: Bearer")
	case s.st.SpaceForToken(tok) != "":
		writeError(w, http.StatusForbidden, "wrong_role", "a host token cannot do this: it needs the admin key")
	case s.isInvite(tok):
		writeError(w, http.StatusForbidden, "wrong_role", "a co-host or speaker token cannot do this: it needs the admin key")
	default:
		writeError(w, http.StatusUnauthorized, "bad_token", "unknown token")
	}
	return false
}

func (s *Server) isInvite(tok string) bool {
	_, ok := s.st.InviteForToken(tok)
	return ok
}

func (s *Server) isTicket(tok, space string) bool {
	_, err := s.Keys().Verify(tok, space, time.Now())
	return err == nil
}

// loadSpace answers 404 for an unknown space id.
func (s *Server) loadSpace(w http.ResponseWriter, r *http.Request) (store.Space, bool) {
	id := r.PathValue("id")
	sp, err := s.dir.Space(id)
	if err != nil {
		if err == store.ErrNotFound {
			writeError(w, http.StatusNotFound, "unknown_space", "no space with id "+quote(id))
		} else {
			s.log.Error("store", "err", err)
			writeError(w, http.StatusInternalServerError, "store", "could not read the space")
		}
		return sp, false
	}
	return sp, true
}

// quote keeps echoed ids short and printable.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}
