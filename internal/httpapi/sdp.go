package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/onair-live/onair/internal/rtc"
)

// maxSDP bounds an offer: real ones are a few kilobytes.
const maxSDP = 64 << 10

// ReadOffer reads an application/sdp body (WHIP and WHEP): 415 for
// another type, 413 when too large.
func ReadOffer(w http.ResponseWriter, r *http.Request) (string, bool) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
		WriteError(w, http.StatusUnsupportedMediaType, "bad_content_type", "send the SDP offer as Content-Type: application/sdp")
		return "", false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSDP))
	if err != nil {
		WriteError(w, http.StatusRequestEntityTooLarge, "too_large", "SDP offer over 64 KiB")
		return "", false
	}
	return string(b), true
}

// WriteAnswer answers an offer: 201 with the session's URL.
func WriteAnswer(w http.ResponseWriter, location, answer string) {
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// NegotiationError answers a failed offer.
func NegotiationError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, rtc.ErrBadOffer):
		WriteError(w, http.StatusBadRequest, "bad_sdp", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		WriteError(w, http.StatusServiceUnavailable, "ice", "could not gather ICE candidates in time")
	default:
		WriteError(w, http.StatusInternalServerError, "webrtc", err.Error())
	}
}

// NoTrickle answers PATCH: offers must carry their candidates.
func NoTrickle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "DELETE")
	WriteError(w, http.StatusMethodNotAllowed, "no_trickle", "trickle ICE is not supported: send an offer with all candidates")
}
