package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxJSON bounds request bodies of the JSON API.
const maxJSON = 64 << 10

// apiError is the body of every error answer: a stable code for programs and
// a sentence for people.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	// Extra fields some errors carry (e.g. the replay URL of an ended space).
	Replay string `json:"replay,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Code: code})
}

// decodeJSON reads a bounded JSON body into v: 413 when too large, 400 when
// malformed or carrying unknown fields, so typos do not pass silently.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Body == nil || r.ContentLength == 0 {
		return true // an empty body means "all defaults"
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSON))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", maxJSON))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_json", "invalid JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_json", "invalid JSON body: trailing data after the object")
		return false
	}
	return true
}

// bearer returns the token of an "Authorization: Bearer" header, the
// password of Basic auth (how every Icecast source client sends its
// credentials; the user name is free), or the ?token= query parameter for
// tools that cannot set headers.
func bearer(r *http.Request) string {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}
