package control

import (
	"context"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/store"
)

// The active origin's spaces and invites, secrets included, reach a
// standby on another server; the public bucket still has no secret, and
// an entry copied under another key or sealed with another cluster key is
// dropped.
func TestMirrorToStandby(t *testing.T) {
	nodes := jsCluster(t, 3)
	st := newStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	sp, _, _ := st.CreateSpace("Talk", now, now)
	inv, _, _ := st.CreateInvite(sp.ID, store.RoleSpeaker, "Ann", now)
	active, err := open(t, conn(t, nodes[0]), Config{}).OpenMirror()
	if err != nil {
		t.Fatal(err)
	}
	if err := active.PutSpace(sp); err != nil {
		t.Fatal(err)
	}
	if err := active.PutInvite(inv); err != nil {
		t.Fatal(err)
	}
	standbyPlane := open(t, conn(t, nodes[2]), Config{})
	standby, err := standbyPlane.OpenMirror()
	if err != nil {
		t.Fatal(err)
	}
	// A forgery: the space's sealed entry copied under another key, and one
	// sealed with a foreign cluster key.
	e, _ := standby.kv.Get(context.Background(), "space."+sp.ID)
	if _, err := standby.kv.Put(context.Background(), "space.other", e.Value()); err != nil {
		t.Fatal(err)
	}
	foreign, err := open(t, conn(t, nodes[1]), Config{ClusterKey: []byte("another cluster's key, not ours")}).OpenMirror()
	if err != nil {
		t.Fatal(err)
	}
	if err := foreign.PutSpace(store.Space{ID: "evil", HostTokenHash: "00", State: store.Live}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	spaces, invites, err := standby.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(spaces) != 1 || spaces[0].ID != sp.ID || spaces[0].HostTokenHash != sp.HostTokenHash {
		t.Fatalf("standby loaded spaces %+v, want %s with its hash", spaces, sp.ID)
	}
	if len(invites) != 1 || invites[0].TokenHash != inv.TokenHash || invites[0].Name != "Ann" {
		t.Fatalf("standby loaded invites %+v", invites)
	}
	if standbyPlane.Dropped() != 2 {
		t.Fatalf("%d entries dropped, want the 2 forgeries", standbyPlane.Dropped())
	}
}
