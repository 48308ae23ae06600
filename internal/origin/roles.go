package origin

import (
	"net/http"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
)

// caller is who a request's token speaks for in one space.
type caller struct {
	Role   store.Role
	Admin  bool
	Invite store.Invite // set for co-hosts and speakers
}

// rank orders roles by power: a role may do what any lower one may.
func rank(r store.Role) int {
	switch r {
	case store.RoleHost:
		return 3
	case store.RoleCohost:
		return 2
	case store.RoleSpeaker:
		return 1
	}
	return 0
}

// can reports whether the caller holds at least role need.
func (c caller) can(need store.Role) bool { return rank(c.Role) >= rank(need) }

// authError is a refused token: the status and the words for it.
type authError struct {
	status     int
	code, text string
}

// roleOf is the one place a token becomes a role in a space: the admin key
// and the host token are hosts, an invite is its role until revoked.
func (s *Origin) roleOf(sp store.Space, tok string) (caller, *authError) {
	switch {
	case tok == "":
		return caller{}, &authError{http.StatusUnauthorized, "no_token",
			"missing token: send the host, co-host or speaker token as Authorization: Bearer (or ?token=)"}
	case s.isAdmin(tok):
		return caller{Role: store.RoleHost, Admin: true}, nil
	case sp.CheckHostToken(tok):
		return caller{Role: store.RoleHost}, nil
	}
	if inv, ok := s.st.InviteForToken(tok); ok {
		switch {
		case inv.Space != sp.ID:
			return caller{}, &authError{http.StatusForbidden, "wrong_space", "this token belongs to another space"}
		case inv.Revoked():
			return caller{}, &authError{http.StatusUnauthorized, "revoked", "this " + roleName(inv.Role) + " token was revoked"}
		}
		return caller{Role: inv.Role, Invite: inv}, nil
	}
	switch {
	case s.st.SpaceForToken(tok) != "":
		return caller{}, &authError{http.StatusForbidden, "wrong_space", "this host token belongs to another space"}
	case s.IsTicket(tok, sp.ID):
		return caller{}, &authError{http.StatusForbidden, "wrong_role", "a listener ticket cannot do this: it needs the host token"}
	}
	return caller{}, &authError{http.StatusUnauthorized, "bad_token", "unknown token"}
}

// requireRole loads the space named in the path and checks that the
// caller's token holds at least role need; action says, in the 403, what a
// weaker token was refused ("start the show"). It answers errors itself.
func (s *Origin) requireRole(w http.ResponseWriter, r *http.Request, need store.Role, action string) (store.Space, caller, bool) {
	sp, ok := s.LoadSpace(w, r)
	if !ok {
		return sp, caller{}, false
	}
	c, aerr := s.roleOf(sp, httpapi.Bearer(r))
	if aerr != nil {
		httpapi.WriteError(w, aerr.status, aerr.code, aerr.text)
		return sp, c, false
	}
	if !c.can(need) {
		httpapi.WriteError(w, http.StatusForbidden, "wrong_role", "a "+roleName(c.Role)+" token cannot "+action+
			": that needs the "+roleName(need)+" token or the host's")
		return sp, c, false
	}
	return sp, c, true
}

// requireHost is requireRole for what hosts and co-hosts may do.
func (s *Origin) requireHost(w http.ResponseWriter, r *http.Request, action string) (store.Space, caller, bool) {
	return s.requireRole(w, r, store.RoleCohost, action)
}

func roleName(r store.Role) string {
	if r == store.RoleCohost {
		return "co-host"
	}
	return string(r)
}
