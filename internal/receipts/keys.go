package receipts

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// KeyPair is an Ed25519 note key: the signer and its public verifier key
// ("name+hash+base64"), as golang.org/x/mod/sumdb/note encodes them.
type KeyPair struct {
	Signer   note.Signer
	Verifier note.Verifier
	VKey     string
}

// LoadOrCreateKey reads the signer key in path, or, when there is none,
// creates one named name and stores it there (mode 0600, in a directory
// made 0700 if missing). The file holds the private key on its first line
// and the verifier key on its second, so the public half never needs
// deriving. It says whether it created the key.
func LoadOrCreateKey(path, name string) (KeyPair, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := createKey(path, name)
		return kp, err == nil, err
	}
	if err != nil {
		return KeyPair{}, false, err
	}
	kp, err := parseKeyFile(b)
	if err != nil {
		return KeyPair{}, false, fmt.Errorf("%s: %v", path, err)
	}
	return kp, false, nil
}

func createKey(path, name string) (KeyPair, error) {
	if !validKeyName(name) {
		return KeyPair{}, fmt.Errorf("key name %q: want a non-empty name without spaces or '+' (e.g. example.com/node-1)", name)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return KeyPair{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return KeyPair{}, err
	}
	// O_EXCL: two processes starting at once must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return KeyPair{}, err
	}
	_, err = fmt.Fprintf(f, "%s\n%s\n", skey, vkey)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return KeyPair{}, err
	}
	return parseKeyFile([]byte(skey + "\n" + vkey + "\n"))
}

func parseKeyFile(b []byte) (KeyPair, error) {
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return KeyPair{}, errors.New("want two lines: the signer key (PRIVATE+KEY+...) and the verifier key")
	}
	s, err := note.NewSigner(lines[0])
	if err != nil {
		return KeyPair{}, fmt.Errorf("signer key: %v", err)
	}
	v, err := note.NewVerifier(lines[1])
	if err != nil {
		return KeyPair{}, fmt.Errorf("verifier key: %v", err)
	}
	if s.Name() != v.Name() || s.KeyHash() != v.KeyHash() {
		return KeyPair{}, errors.New("the verifier key is not the signer key's")
	}
	return KeyPair{Signer: s, Verifier: v, VKey: lines[1]}, nil
}

// validKeyName is note's rule for key names (and so for origins here).
func validKeyName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "+ \t\n\r\v\f")
}
