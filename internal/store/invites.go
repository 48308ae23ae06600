package store

import (
	"encoding/json"
	"errors"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Role is what a token may do in its space.
type Role string

// The roles of a space, most powerful first. The host is whoever holds the
// token made with the space; co-hosts and speakers are invited.
const (
	RoleHost    Role = "host"
	RoleCohost  Role = "cohost"
	RoleSpeaker Role = "speaker"
)

// ErrNameTaken is returned when an active invite of the space already has
// the name: two people under one name would replace each other on stage.
var ErrNameTaken = errors.New("an active invite of this space already has that name")

// Invite is a co-host or speaker token of one space. Like the host token,
// only the token's SHA-256 is kept.
type Invite struct {
	ID        string    `json:"id"`
	Space     string    `json:"space"`
	Role      Role      `json:"role"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	TokenHash string    `json:"-"`
}

// storedInvite keeps the hash on disk while the API never shows it.
type storedInvite struct {
	Invite
	Hash string `json:"token_hash"`
}

// Revoked reports whether the invite was revoked.
func (i Invite) Revoked() bool { return !i.RevokedAt.IsZero() }

var bucketInvites = []byte("invites") // token hash → invite

// CreateInvite makes a token for role in space; the token is returned once.
func (s *Store) CreateInvite(space string, role Role, name string, now time.Time) (Invite, string, error) {
	tok := RandomToken(24)
	inv := Invite{ID: RandomToken(6), Space: space, Role: role, Name: name, CreatedAt: now, TokenHash: HashToken(tok)}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSpaces).Get([]byte(space)) == nil {
			return ErrNotFound
		}
		b := tx.Bucket(bucketInvites)
		taken := false
		err := eachInvite(b, func(o Invite) {
			taken = taken || (o.Space == space && o.Name == name && !o.Revoked())
		})
		if err != nil {
			return err
		}
		if taken {
			return ErrNameTaken
		}
		return putInvite(b, inv)
	})
	return inv, tok, err
}

// InviteForToken returns the invite whose token is tok (revoked or not).
func (s *Store) InviteForToken(tok string) (Invite, bool) { return s.InviteByHash(HashToken(tok)) }

// InviteByHash is InviteForToken by the token's hash: a fresh look at an
// invite already found.
func (s *Store) InviteByHash(hash string) (Invite, bool) {
	var inv Invite
	found := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketInvites).Get([]byte(hash))
		if v == nil {
			return nil
		}
		var si storedInvite
		if json.Unmarshal(v, &si) == nil {
			inv, found = si.Invite, true
			inv.TokenHash = si.Hash
		}
		return nil
	})
	return inv, found
}

// Invites lists the invites of a space, oldest first.
func (s *Store) Invites(space string) ([]Invite, error) {
	out := []Invite{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachInvite(tx.Bucket(bucketInvites), func(i Invite) {
			if i.Space == space {
				out = append(out, i)
			}
		})
	})
	sort.Slice(out, func(a, b int) bool { return out[a].CreatedAt.Before(out[b].CreatedAt) })
	return out, err
}

// RevokeInvite marks the invite id of space revoked (once: revoking again
// keeps the first time). ErrNotFound for an unknown id.
func (s *Store) RevokeInvite(space, id string, now time.Time) (Invite, error) {
	var inv Invite
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInvites)
		found := false
		err := eachInvite(b, func(i Invite) {
			if i.Space == space && i.ID == id {
				inv, found = i, true
			}
		})
		if err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		if !inv.Revoked() {
			inv.RevokedAt = now
		}
		return putInvite(b, inv)
	})
	return inv, err
}

func putInvite(b *bolt.Bucket, inv Invite) error {
	return putJSON(b, inv.TokenHash, storedInvite{Invite: inv, Hash: inv.TokenHash})
}

func eachInvite(b *bolt.Bucket, fn func(Invite)) error {
	return b.ForEach(func(_, v []byte) error {
		var si storedInvite
		if err := json.Unmarshal(v, &si); err != nil {
			return err
		}
		si.Invite.TokenHash = si.Hash
		fn(si.Invite)
		return nil
	})
}
