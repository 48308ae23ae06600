package control

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/onair-live/onair/internal/store"
	"github.com/onair-live/onair/internal/ticket"
)

// BucketOrigin is what a standby origin needs to take over: every space
// with its host token hash and every invite, as the active origin keeps
// them, encrypted with the cluster key (edges never read it).
const BucketOrigin = "onair_origin"

// Mirror is the active origin's state for the standbys.
type Mirror struct {
	p  *Plane
	kv jetstream.KeyValue
}

// OpenMirror binds (or creates) the origins' bucket.
func (p *Plane) OpenMirror() (*Mirror, error) {
	js, err := jetstream.New(p.nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), openWait)
	defer cancel()
	kv, err := p.bucketRetry(ctx, js, jetstream.KeyValueConfig{Bucket: BucketOrigin, Description: "onair origin state, for standbys",
		History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, err
	}
	return &Mirror{p: p, kv: kv}, nil
}

// PutSpace writes sp, secrets included.
func (m *Mirror) PutSpace(sp store.Space) error {
	if !validName(sp.ID) {
		return fmt.Errorf("control: space id %q: want 1 to 64 of a-z A-Z 0-9 - _", sp.ID)
	}
	return m.put("space."+sp.ID, sp)
}

// PutInvite writes inv, its token hash included.
func (m *Mirror) PutInvite(inv store.Invite) error {
	if !validName(inv.TokenHash) || !validName(inv.Space) {
		return fmt.Errorf("control: invite of space %q with a malformed token hash", inv.Space)
	}
	return m.put("invite."+inv.TokenHash, storedInvite{Invite: inv, Hash: inv.TokenHash})
}

// storedInvite carries the hash the store's Invite keeps out of JSON.
type storedInvite struct {
	store.Invite
	Hash string `json:"token_hash"`
}

func (m *Mirror) put(key string, v any) error {
	data, err := m.p.seal.wrap(BucketOrigin, key, v, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if _, err := m.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("control: mirror %s: %w", key, err)
	}
	return nil
}

// Load reads every space and invite the active origin mirrored. Entries
// that are forged, foreign or malformed are counted and left out.
func (m *Mirror) Load(ctx context.Context) ([]store.Space, []store.Invite, error) {
	entries, err := snapshot(ctx, m.kv, ">")
	if err != nil {
		return nil, nil, err
	}
	var spaces []store.Space
	var invites []store.Invite
	for _, e := range entries {
		key := e.Key()
		if strings.HasPrefix(key, originPrefix) { // the origins' names (Origins)
			continue
		}
		sp, inv, err := m.p.mirrored(key, e.Value())
		switch {
		case err != nil:
			m.p.dropEntry(BucketOrigin+"/"+key, err)
		case sp != nil:
			spaces = append(spaces, *sp)
		default:
			invites = append(invites, *inv)
		}
	}
	return spaces, invites, nil
}

// mirrored decodes one entry of the origins' bucket: a space (with its
// host token hash, under space.ID) or an invite (under invite.HASH).
// Every failure is a *dropError.
func (p *Plane) mirrored(key string, value []byte) (*store.Space, *store.Invite, error) {
	switch kind, id, _ := strings.Cut(key, "."); kind {
	case "space":
		var sp store.Space
		if err := p.seal.unwrap(BucketOrigin, key, value, &sp, true); err != nil {
			return nil, nil, err
		}
		if sp.ID != id || !validName(sp.ID) || sp.HostTokenHash == "" {
			return nil, nil, drop(reasonForeign, "space %q without its token hash, or under %q", sp.ID, key)
		}
		return &sp, nil, nil
	case "invite":
		var si storedInvite
		if err := p.seal.unwrap(BucketOrigin, key, value, &si, true); err != nil {
			return nil, nil, err
		}
		if si.Hash != id || si.ID == "" || !validName(si.Space) {
			return nil, nil, drop(reasonForeign, "invite %q under %q", si.ID, key)
		}
		si.Invite.TokenHash = si.Hash
		return nil, &si.Invite, nil
	}
	return nil, nil, drop(reasonForeign, "key %q", key)
}

// StoredKeys reads the ticket keyring from its bucket (nil when no origin
// has put one yet): a standby taking over signs with the cluster's keys,
// so tickets already given out still verify.
func (p *Plane) StoredKeys(ctx context.Context) (*ticket.Keyring, error) {
	e, err := p.keys.Get(ctx, keyRing)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("control: get ticket keys: %w", err)
	}
	var w wireRing
	if err := p.seal.unwrap(BucketKeys, keyRing, e.Value(), &w, true); err != nil {
		p.dropEntry(BucketKeys+"/"+keyRing, err)
		return nil, err
	}
	return w.keyring()
}
