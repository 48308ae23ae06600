package store

import (
	"encoding/binary"
	"errors"

	"github.com/onair-live/onair/internal/ticket"
	bolt "go.etcd.io/bbolt"
)

// What a standby origin takes over from the active one: its spaces with
// their host-token index, its invites and its ticket keys, stored as the
// active one kept them.

// Import stores sp as the active origin keeps it, host token index
// included, so the host's token works on this node once it is active.
func (s *Store) Import(sp Space) error {
	if sp.ID == "" || sp.HostTokenHash == "" {
		return errors.New("store: a space to import needs its id and host token hash")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketTokens).Put([]byte(sp.HostTokenHash), []byte(sp.ID)); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketSpaces), sp.ID, sp)
	})
}

// ImportInvite stores an invite as the active origin keeps it.
func (s *Store) ImportInvite(inv Invite) error {
	if inv.ID == "" || inv.Space == "" || inv.TokenHash == "" {
		return errors.New("store: an invite to import needs its id, space and token hash")
	}
	return s.db.Update(func(tx *bolt.Tx) error { return putInvite(tx.Bucket(bucketInvites), inv) })
}

// AllInvites lists every invite of every space, token hashes included.
func (s *Store) AllInvites() ([]Invite, error) {
	var out []Invite
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachInvite(tx.Bucket(bucketInvites), func(i Invite) { out = append(out, i) })
	})
	return out, err
}

// SetTicketKeys replaces the stored keyring with kr (the cluster's, which
// a standby takes over): later rotations go on from its newest key.
func (s *Store) SetTicketKeys(kr *ticket.Keyring) error {
	cur, older := kr.Keys()
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketKeys); err != nil {
			return err
		}
		keys, err := tx.CreateBucket(bucketKeys)
		if err != nil {
			return err
		}
		for _, k := range append([]ticket.Key{cur}, older...) {
			if err := keys.Put(u32(k.ID), k.Secret); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyCurrent, binary.BigEndian.AppendUint32(nil, cur.ID))
	})
}
