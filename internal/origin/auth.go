package origin

import (
	"crypto/subtle"
	"net/http"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
)

func (s *Origin) isAdmin(tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(store.HashToken(tok)), []byte(s.admin)) == 1
}

// requireAdmin answers 401 for a missing or unknown token and 403 for a
// token that is valid but not the admin key (a host token).
func (s *Origin) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	tok := httpapi.Bearer(r)
	switch {
	case s.isAdmin(tok):
		return true
	case tok == "":
		httpapi.WriteError(w, http.StatusUnauthorized, "no_token", "missing token: send the admin key as Authorization: Bearer")
	case s.st.SpaceForToken(tok) != "":
		httpapi.WriteError(w, http.StatusForbidden, "wrong_role", "a host token cannot do this: it needs the admin key")
	case s.isInvite(tok):
		httpapi.WriteError(w, http.StatusForbidden, "wrong_role", "a co-host or speaker token cannot do this: it needs the admin key")
	default:
		httpapi.WriteError(w, http.StatusUnauthorized, "bad_token", "unknown token")
	}
	return false
}

func (s *Origin) isInvite(tok string) bool {
	_, ok := s.st.InviteForToken(tok)
	return ok
}
