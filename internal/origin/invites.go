package origin

import (
	"errors"
	"net/http"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
)

// inviteView is an invite as hosts see it; the token only once, at creation.
type inviteView struct {
	store.Invite
	OnStage bool   `json:"on_stage"`
	Token   string `json:"token,omitempty"`
	Studio  string `json:"studio,omitempty"` // the studio link with the token
}

type inviteReq struct {
	Role store.Role `json:"role"`
	Name string     `json:"name"`
}

// handleInvite makes a co-host or speaker token (hosts and co-hosts).
func (s *Origin) handleInvite(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireHost(w, r, "invite")
	if !ok {
		return
	}
	var req inviteReq
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	switch {
	case req.Role != store.RoleSpeaker && req.Role != store.RoleCohost:
		httpapi.WriteError(w, http.StatusBadRequest, "bad_role", `role: "speaker" or "cohost"`)
		return
	case !speakerName.MatchString(req.Name):
		httpapi.WriteError(w, http.StatusBadRequest, "bad_name", "name: 1-64 letters, digits, spaces, . _ -")
		return
	case sp.State == store.Ended:
		httpapi.WriteError(w, http.StatusConflict, "ended", "the space has ended")
		return
	}
	inv, tok, err := s.st.CreateInvite(sp.ID, req.Role, req.Name, time.Now().UTC())
	switch {
	case errors.Is(err, store.ErrNameTaken):
		httpapi.WriteError(w, http.StatusConflict, "name_taken", err.Error()+": revoke it first or pick another")
		return
	case err != nil:
		s.log.Error("create invite", "space", sp.ID, "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not store the invite")
		return
	}
	s.log.Info("invite created", "space", sp.ID, "invite", inv.ID, "role", inv.Role, "name", inv.Name)
	httpapi.WriteJSON(w, http.StatusCreated, inviteView{Invite: inv, Token: tok, Studio: s.studioLink(sp.ID, tok)})
}

// studioLink opens the studio signed in with tok (the fragment never
// reaches a server).
func (s *Origin) studioLink(id, tok string) string {
	return s.cfg.HostURL + "/studio/" + id + "#token=" + tok
}

// invitesOf lists a space's invites with whether each is on stage now.
func (s *Origin) invitesOf(id string) ([]inviteView, error) {
	invs, err := s.st.Invites(id)
	out := make([]inviteView, 0, len(invs))
	for _, inv := range invs {
		st, on := s.stage.seat(id, inv.Name)
		out = append(out, inviteView{Invite: inv, OnStage: on && st.invite == inv.ID})
	}
	return out, err
}

func (s *Origin) handleInvites(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireHost(w, r, "list the invites")
	if !ok {
		return
	}
	list, err := s.invitesOf(sp.ID)
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not list the invites")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"invites": list})
}

// handleRevoke revokes an invite: its token answers 401 from now on and
// whoever is on stage with it is cut off at once.
func (s *Origin) handleRevoke(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireHost(w, r, "revoke invites")
	if !ok {
		return
	}
	inv, err := s.st.RevokeInvite(sp.ID, r.PathValue("invite"), time.Now().UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpapi.WriteError(w, http.StatusNotFound, "unknown_invite", "no invite "+httpapi.Quote(r.PathValue("invite"))+" in this space")
		return
	case err != nil:
		httpapi.WriteError(w, http.StatusInternalServerError, "store", "could not revoke the invite")
		return
	}
	cut := s.stage.cut(sp.ID, inv.ID)
	s.log.Info("invite revoked", "space", sp.ID, "invite", inv.ID, "name", inv.Name, "cut", cut)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"invite": inviteView{Invite: inv}, "cut": cut})
}

type muteReq struct {
	Muted *bool `json:"muted"`
}

// handleMute mutes or unmutes a speaker in the program.
func (s *Origin) handleMute(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := s.requireHost(w, r, "mute speakers")
	if !ok {
		return
	}
	var req muteReq
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if req.Muted == nil {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_json", `send {"muted": true} or {"muted": false}`)
		return
	}
	spk := s.mgr.OnStage(sp.ID, r.PathValue("name"))
	if spk == nil {
		httpapi.WriteError(w, http.StatusNotFound, "not_on_stage", "no speaker "+httpapi.Quote(r.PathValue("name"))+" on stage")
		return
	}
	spk.SetMuted(*req.Muted)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"name": spk.Name(), "muted": *req.Muted})
}

// handleRemove takes a speaker off the stage (their connection ends; a
// speaker with an invite may come back until it is revoked). Co-hosts may
// remove anyone but the host.
func (s *Origin) handleRemove(w http.ResponseWriter, r *http.Request) {
	sp, c, ok := s.requireHost(w, r, "remove speakers")
	if !ok {
		return
	}
	name := r.PathValue("name")
	spk := s.mgr.OnStage(sp.ID, name)
	if spk == nil {
		httpapi.WriteError(w, http.StatusNotFound, "not_on_stage", "no speaker "+httpapi.Quote(name)+" on stage")
		return
	}
	if st, ok := s.stage.seat(sp.ID, name); ok && st.role == store.RoleHost && !c.can(store.RoleHost) {
		httpapi.WriteError(w, http.StatusForbidden, "wrong_role", "a co-host cannot remove the host")
		return
	}
	spk.Remove()
	s.log.Info("speaker removed", "space", sp.ID, "speaker", name)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"removed": name})
}
