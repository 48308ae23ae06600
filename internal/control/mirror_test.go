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

// Any bytes under any key of the origins' bucket: an entry is taken only
// as what an origin with the cluster key wrote under that very key, with
// its token hash; anything else is a drop, never a panic.
func FuzzMirrored(f *testing.F) {
	p, err := newPlane(Config{ClusterKey: clusterKey})
	if err != nil {
		f.Fatal(err)
	}
	sp := store.Space{ID: "abc", State: store.Live, HostTokenHash: "00ff"}
	space, _ := p.seal.wrap(BucketOrigin, "space.abc", sp, true)
	inv, _ := p.seal.wrap(BucketOrigin, "invite.00ff", storedInvite{Invite: store.Invite{ID: "i", Space: "abc"}, Hash: "00ff"}, true)
	f.Add("space.abc", space)
	f.Add("invite.00ff", inv)
	f.Add("space.abd", space)
	f.Add("other", []byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		sp, inv, err := p.mirrored(key, data)
		switch {
		case err != nil:
			if sp != nil || inv != nil {
				t.Fatal("an entry both taken and dropped")
			}
		case sp != nil:
			if key != "space."+sp.ID || sp.HostTokenHash == "" || inv != nil {
				t.Fatalf("took space %+v under %q", sp, key)
			}
		case inv != nil:
			if key != "invite."+inv.TokenHash || inv.Space == "" {
				t.Fatalf("took invite %+v under %q", inv, key)
			}
		default:
			t.Fatal("neither taken nor dropped")
		}
	})
}
