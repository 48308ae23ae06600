package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestInvitesHashedAndRevocable: an invite's token is found by its hash,
// never written to disk, survives a reopen, and stays revoked.
func TestInvitesHashedAndRevocable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "onair.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	sp, _, _ := st.CreateSpace("Talk", now, now)
	inv, tok, err := st.CreateInvite(sp.ID, RoleSpeaker, "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateInvite(sp.ID, RoleCohost, "alice", now); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("second alice: %v", err)
	}
	if _, _, err := st.CreateInvite("nope", RoleSpeaker, "bob", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("invite to an unknown space: %v", err)
	}
	if got, ok := st.InviteForToken(tok); !ok || got.ID != inv.ID || got.Role != RoleSpeaker || got.Revoked() {
		t.Fatalf("lookup: %+v %v", got, ok)
	}
	if _, ok := st.InviteForToken(tok + "x"); ok {
		t.Fatal("a wrong token found an invite")
	}
	if _, err := st.RevokeInvite(sp.ID, "nope", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if _, err := st.RevokeInvite("other", inv.ID, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke through another space: %v", err)
	}
	if r, err := st.RevokeInvite(sp.ID, inv.ID, now); err != nil || !r.Revoked() {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	// The name is free again once its invite is revoked.
	if _, _, err := st.CreateInvite(sp.ID, RoleSpeaker, "alice", now.Add(time.Second)); err != nil {
		t.Fatalf("alice again after the revocation: %v", err)
	}
	st.Close()
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(tok)) || !bytes.Contains(raw, []byte(HashToken(tok))) {
		t.Fatal("the database holds the invite token itself, or not its hash")
	}
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, ok := st.InviteForToken(tok); !ok || !got.Revoked() {
		t.Fatalf("after reopen: %+v %v", got, ok)
	}
	if list, _ := st.Invites(sp.ID); len(list) != 2 || list[0].ID != inv.ID {
		t.Fatalf("list: %+v", list)
	}
}
