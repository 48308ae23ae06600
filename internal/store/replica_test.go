package store

import (
	"path/filepath"
	"testing"
	"time"
)

// What one store exports, another imports: the host token and the invite
// token work there, the ticket keys are the same.
func TestImportFromAnotherStore(t *testing.T) {
	open := func() *Store {
		s, err := Open(filepath.Join(t.TempDir(), "onair.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	now := time.Now().UTC()
	sp, tok, err := a.CreateSpace("Talk", now, now)
	if err != nil {
		t.Fatal(err)
	}
	_, itok, err := a.CreateInvite(sp.ID, RoleSpeaker, "Ann", now)
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := a.RotateTicketKeys(3)
	invs, _ := a.AllInvites()
	if err := b.Import(sp); err != nil {
		t.Fatal(err)
	}
	for _, inv := range invs {
		if err := b.ImportInvite(inv); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetTicketKeys(kr); err != nil {
		t.Fatal(err)
	}
	if b.SpaceForToken(tok) != sp.ID {
		t.Fatal("the imported space's host token does not find it")
	}
	if inv, ok := b.InviteForToken(itok); !ok || inv.Name != "Ann" {
		t.Fatalf("the imported invite: %+v %t", inv, ok)
	}
	got, _ := b.TicketKeys()
	gc, go_ := got.Keys()
	wc, wo := kr.Keys()
	if gc.ID != wc.ID || string(gc.Secret) != string(wc.Secret) || len(go_) != len(wo) {
		t.Fatalf("imported keys: current %d, %d older; want %d, %d", gc.ID, len(go_), wc.ID, len(wo))
	}
	if next, _ := b.RotateTicketKeys(3); func() uint32 { c, _ := next.Keys(); return c.ID }() != wc.ID+1 {
		t.Fatal("a rotation after the import does not go on from the imported key")
	}
	if b.Import(Space{ID: "x"}) == nil || b.ImportInvite(Invite{ID: "i"}) == nil {
		t.Fatal("an import without its token hash was accepted")
	}
}
