package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/ticket"
)

func TestSpacesSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "onair.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	sp, tok, err := st.CreateSpace("Talk", now.Add(time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if !sp.CheckHostToken(tok) || sp.CheckHostToken(tok+"x") || sp.CheckHostToken("") {
		t.Fatal("host token check wrong")
	}
	kr1, err := st.TicketKeys()
	if err != nil {
		t.Fatal(err)
	}
	tk, _, _ := kr1.Issue(sp.ID, time.Minute, now)
	if _, err := st.UpdateSpace(sp.ID, func(s *Space) error { s.State = Live; return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := st.UpdateSpace(sp.ID, func(s *Space) error { s.State = Ended; return boom }); !errors.Is(err, boom) {
		t.Fatalf("aborted update: %v", err)
	}
	st.Close()

	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Space(sp.ID)
	if err != nil || got.State != Live || got.Title != "Talk" || !got.CheckHostToken(tok) {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	kr2, _ := st.TicketKeys()
	if _, err := kr2.Verify(tk, sp.ID, now); err != nil {
		t.Fatalf("ticket key not persisted: %v", err)
	}
	if st.SpaceForToken(tok) != sp.ID || st.SpaceForToken("x") != "" {
		t.Fatal("token index wrong")
	}
	if _, err := st.Space("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown space: %v", err)
	}
	list, _ := st.Spaces()
	if len(list) != 1 || list[0].ID != sp.ID {
		t.Fatalf("list %+v", list)
	}
}

// A rotation signs with a new key id; tickets of the keys it keeps still
// verify, those of dropped keys do not, and the ring survives a reopen.
func TestRotateTicketKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "onair.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var toks []string
	for i := range 4 {
		kr, err := st.TicketKeys()
		if i > 0 {
			kr, err = st.RotateTicketKeys(2)
		}
		if err != nil {
			t.Fatal(err)
		}
		cur, older := kr.Keys()
		if cur.ID != uint32(i+1) || len(older) != min(i, 2) {
			t.Fatalf("rotation %d: current %d, %d older", i, cur.ID, len(older))
		}
		tok, _, _ := kr.Issue("sp", time.Minute, now)
		toks = append(toks, tok)
	}
	if _, err := st.RotateTicketKeys(-1); err == nil {
		t.Fatal("negative keep accepted")
	}
	st.Close()
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kr, _ := st.TicketKeys()
	for i, tok := range toks {
		_, err := kr.Verify(tok, "sp", now)
		if dropped := i == 0; dropped != errors.Is(err, ticket.ErrUnknownKey) || !dropped && err != nil {
			t.Errorf("ticket of key %d: %v", i+1, err)
		}
	}
}

// TestPutCopiesASpace: a space copied from another node reads back the
// same, id and state included, but gives no host access here.
func TestPutCopiesASpace(t *testing.T) {
	a, err := Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now().UTC().Truncate(time.Second)
	sp, tok, err := a.CreateSpace("Talk", now, now)
	if err != nil {
		t.Fatal(err)
	}
	sp.State, sp.StartedAt = Live, now
	if err := b.Put(sp); err != nil {
		t.Fatal(err)
	}
	got, err := b.Space(sp.ID)
	if err != nil || got.ID != sp.ID || got.State != Live || !got.StartedAt.Equal(now) || got.Title != "Talk" {
		t.Fatalf("copy reads back %+v, %v", got, err)
	}
	if id := b.SpaceForToken(tok); id != "" {
		t.Fatalf("the copy's host token opens %q here", id)
	}
	if err := b.Put(Space{Title: "no id"}); err == nil {
		t.Fatal("a space without an id was stored")
	}
}
