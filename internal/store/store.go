// Package store keeps the control-plane state (spaces, host tokens, ticket
// signing keys) in an embedded bbolt database that survives restarts.
package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/onair-live/onair/internal/ticket"
	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned for an unknown space id.
var ErrNotFound = errors.New("not found")

// State is where a space is in its life: scheduled → live → ended.
type State string

// The states of a space.
const (
	Scheduled State = "scheduled"
	Live      State = "live"
	Ended     State = "ended"
)

// Space is one live audio room. The host token itself is never stored, only
// its SHA-256, so a copy of the database does not hand out the show.
type Space struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	StartsAt  time.Time `json:"starts_at"`
	State     State     `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// AutoStart: the node takes the space live at StartsAt by itself.
	AutoStart bool `json:"auto_start,omitempty"`
	// ScheduledAt is StartsAt as it stood when the space went live, kept
	// beside StartedAt so the start delay is a fact of the record.
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	// StartedBy says what took it live: "host" (a start request) or
	// "schedule" (auto-start, possibly late after the node was down).
	StartedBy string `json:"started_by,omitempty"`
	// Duration of the recorded program, set when the space ends.
	RecordedSeconds float64 `json:"recorded_seconds,omitempty"`
	HostTokenHash   string  `json:"host_token_hash"`
}

// StartDelay is how late (negative: early) the show went live against its
// schedule; zero until it has.
func (s Space) StartDelay() time.Duration {
	if s.StartedAt.IsZero() || s.ScheduledAt.IsZero() {
		return 0
	}
	return s.StartedAt.Sub(s.ScheduledAt)
}

// CheckHostToken reports whether tok is this space's host token, in constant time.
func (s Space) CheckHostToken(tok string) bool {
	return subtle.ConstantTimeCompare([]byte(HashToken(tok)), []byte(s.HostTokenHash)) == 1
}

// HashToken is how tokens are kept at rest.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

var (
	bucketSpaces = []byte("spaces")
	bucketKeys   = []byte("ticket_keys")
	bucketMeta   = []byte("meta")
	bucketTokens = []byte("host_tokens") // token hash → space id
	keyCurrent   = []byte("current_ticket_key")
)

// Store is the embedded database. All methods are safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens (or creates) the database at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w (is another onair using this data dir?)", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSpaces, bucketKeys, bucketMeta, bucketTokens, bucketInvites} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// CreateSpace stores a new space and returns its host token (shown once).
func (s *Store) CreateSpace(title string, startsAt, now time.Time) (Space, string, error) {
	return s.Create(Space{Title: title, StartsAt: startsAt}, now)
}

// Create stores a new space from sp's title and schedule and returns it
// with its host token (shown once).
func (s *Store) Create(in Space, now time.Time) (Space, string, error) {
	tok := RandomToken(24)
	sp := Space{Title: in.Title, StartsAt: in.StartsAt, AutoStart: in.AutoStart, State: Scheduled,
		CreatedAt: now, HostTokenHash: HashToken(tok)}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSpaces)
		for range 10 {
			sp.ID = newID()
			if b.Get([]byte(sp.ID)) == nil {
				if err := tx.Bucket(bucketTokens).Put([]byte(sp.HostTokenHash), []byte(sp.ID)); err != nil {
					return err
				}
				return putJSON(b, sp.ID, sp)
			}
		}
		return errors.New("could not allocate a space id")
	})
	return sp, tok, err
}

// Space returns the space with id, or ErrNotFound.
func (s *Store) Space(id string) (Space, error) {
	var sp Space
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSpaces).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &sp)
	})
	return sp, err
}

// SpaceForToken returns the id of the space whose host token is tok, or "".
func (s *Store) SpaceForToken(tok string) string {
	var id string
	_ = s.db.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bucketTokens).Get([]byte(HashToken(tok))))
		return nil
	})
	return id
}

// Spaces lists every space, soonest start first.
func (s *Store) Spaces() ([]Space, error) {
	var out []Space
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSpaces).ForEach(func(_, v []byte) error {
			var sp Space
			if err := json.Unmarshal(v, &sp); err != nil {
				return err
			}
			out = append(out, sp)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	return out, err
}

// UpdateSpace applies fn to the stored space atomically; an error from fn
// aborts the update and is returned unchanged.
func (s *Store) UpdateSpace(id string, fn func(*Space) error) (Space, error) {
	var sp Space
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSpaces)
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &sp); err != nil {
			return err
		}
		if err := fn(&sp); err != nil {
			return err
		}
		return putJSON(b, id, sp)
	})
	return sp, err
}

// Put stores sp as it is, its id included: a copy of a space another node
// keeps (an edge's view of the origin's spaces; tests of two nodes). It
// never touches the host-token index: an edge takes no host requests.
func (s *Store) Put(sp Space) error {
	if sp.ID == "" {
		return errors.New("store: a space to put needs its id")
	}
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketSpaces), sp.ID, sp) })
}

// TicketKeys returns the signing keyring, creating the first key on first use.
func (s *Store) TicketKeys() (*ticket.Keyring, error) {
	var current ticket.Key
	var older []ticket.Key
	err := s.db.Update(func(tx *bolt.Tx) error {
		keys, meta := tx.Bucket(bucketKeys), tx.Bucket(bucketMeta)
		if meta.Get(keyCurrent) == nil {
			k := ticket.NewKey(1)
			if err := keys.Put(u32(k.ID), k.Secret); err != nil {
				return err
			}
			if err := meta.Put(keyCurrent, u32(k.ID)); err != nil {
				return err
			}
		}
		cur := binary.BigEndian.Uint32(meta.Get(keyCurrent))
		return keys.ForEach(func(k, v []byte) error {
			key := ticket.Key{ID: binary.BigEndian.Uint32(k), Secret: append([]byte(nil), v...)}
			if key.ID == cur {
				current = key
			} else {
				older = append(older, key)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return ticket.NewKeyring(current, older...), nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// idAlphabet avoids look-alike characters so ids survive being read aloud.
const idAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

func newID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// RandomToken returns n random bytes, hex-encoded: for host tokens and keys.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// RotateTicketKeys makes a new current signing key with the next id and
// keeps at most keep of the older keys (the newest), so tickets signed
// before the rotation still verify until they expire; tickets signed with
// a dropped key no longer do.
func (s *Store) RotateTicketKeys(keep int) (*ticket.Keyring, error) {
	if keep < 0 {
		return nil, fmt.Errorf("store: keep %d older keys: want 0 or more", keep)
	}
	if _, err := s.TicketKeys(); err != nil { // the first key, if there is none yet
		return nil, err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		keys, meta := tx.Bucket(bucketKeys), tx.Bucket(bucketMeta)
		var ids []uint32
		if err := keys.ForEach(func(k, _ []byte) error {
			ids = append(ids, binary.BigEndian.Uint32(k))
			return nil
		}); err != nil {
			return err
		}
		slices.Sort(ids)
		next := ticket.NewKey(ids[len(ids)-1] + 1)
		if err := keys.Put(u32(next.ID), next.Secret); err != nil {
			return err
		}
		for _, id := range ids[:max(0, len(ids)-keep)] {
			if err := keys.Delete(u32(id)); err != nil {
				return err
			}
		}
		return meta.Put(keyCurrent, u32(next.ID))
	})
	if err != nil {
		return nil, err
	}
	return s.TicketKeys()
}
