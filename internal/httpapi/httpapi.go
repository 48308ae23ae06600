// Package httpapi holds the HTTP conventions both ports share: JSON
// answers and error bodies, bounded JSON bodies, tokens, SDP offers.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxJSON bounds request bodies of the JSON API.
const maxJSON = 64 << 10

// Error is the body of every error answer: a stable code for programs and
// a sentence for people.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	// Extra fields some errors carry (e.g. the replay URL of an ended space).
	Replay string `json:"replay,omitempty"`
}

// WriteJSON answers v as indented JSON, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// WriteError answers an error body: a stable code and a sentence.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, Error{Error: msg, Code: code})
}

// DecodeJSON reads a bounded JSON body into v: 413 when too large, 400 when
// malformed or carrying unknown fields, so typos do not pass silently.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
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
		WriteError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", maxJSON))
		return false
	case err != nil:
		WriteError(w, http.StatusBadRequest, "bad_json", "invalid JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		WriteError(w, http.StatusBadRequest, "bad_json", "invalid JSON body: trailing data after the object")
		return false
	}
	return true
}

// Bearer returns the token of an "Authorization: Bearer" header, the
// password of Basic auth (how every Icecast source client sends its
// credentials; the user name is free), or the ?token= query parameter for
// tools that cannot set headers.
func Bearer(r *http.Request) string {
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

// Quote keeps echoed ids short and printable.
func Quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

// NotFound answers a request for no endpoint, naming what was asked.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
}
