package origin

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/ingest"
	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
)

// ingestIdle cuts an encoder that sends nothing for this long.
const ingestIdle = 15 * time.Second

var speakerName = regexp.MustCompile(`^[\p{L}\p{N} ._-]{1,64}$`)

// speakerParam reads the speaker's name: ?speaker=NAME, else the user name
// of Basic auth (unless Icecast's default "source"), else the encoder's
// Ice-Name when it is a valid name, else "speaker". 400 when a name chosen
// explicitly would not be safe to show.
func speakerParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.URL.Query().Get("speaker")
	if user, _, ok := r.BasicAuth(); name == "" && ok && user != "source" {
		name = user
	}
	if ice := r.Header.Get("Ice-Name"); name == "" && speakerName.MatchString(ice) {
		name = ice
	}
	if name == "" {
		name = "speaker"
	}
	if !speakerName.MatchString(name) {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_speaker", "speaker name: 1-64 letters, digits, spaces, . _ -")
		return "", false
	}
	return name, true
}

// requireSpeaker checks that the token may speak (host, co-host or speaker)
// and settles the speaker's name, for the ways a speaker comes in (ffmpeg
// ingest, WHIP). An invited token speaks under its invite's name.
func (s *Origin) requireSpeaker(w http.ResponseWriter, r *http.Request) (store.Space, caller, string, bool) {
	sp, c, ok := s.requireRole(w, r, store.RoleSpeaker, "speak")
	if !ok {
		return sp, c, "", false
	}
	if c.Invite.ID != "" {
		if q := r.URL.Query().Get("speaker"); q != "" && q != c.Invite.Name {
			httpapi.WriteError(w, http.StatusForbidden, "wrong_name", "this token speaks as "+httpapi.Quote(c.Invite.Name))
			return sp, c, "", false
		}
		return sp, c, c.Invite.Name, true
	}
	name, ok := speakerParam(w, r)
	return sp, c, name, ok
}

// attachSpeaker puts the caller on stage as name, with the mixer options o.
func (s *Origin) attachSpeaker(sp store.Space, c caller, name string, o mix.SpeakerOptions) (*mix.Speaker, error) {
	spk, err := s.stage.attach(sp.ID, name, c, func() (*mix.Speaker, error) { return s.mgr.SpeakerOpts(sp.ID, name, o) })
	if err != nil || c.Invite.ID == "" {
		return spk, err
	}
	// A revocation that landed between the token check and the seat found
	// no seat to cut: look again now that the seat is taken.
	if inv, ok := s.st.InviteByHash(c.Invite.TokenHash); !ok || inv.Revoked() {
		spk.Remove()
		return nil, errRevoked
	}
	return spk, nil
}

// speakerRefusal is the answer to a failed attach.
func speakerRefusal(err error) (int, httpapi.Error) {
	switch {
	case errors.Is(err, space.ErrEnded):
		return http.StatusConflict, httpapi.Error{Error: "the space has ended", Code: "ended"}
	case errors.Is(err, errSeatTaken):
		return http.StatusForbidden, httpapi.Error{Error: err.Error(), Code: "seat_taken"}
	case errors.Is(err, errRevoked):
		return http.StatusUnauthorized, httpapi.Error{Error: err.Error(), Code: "revoked"}
	case errors.Is(err, mix.ErrFull):
		return http.StatusServiceUnavailable, httpapi.Error{Error: err.Error(), Code: "full"}
	}
	return http.StatusServiceUnavailable, httpapi.Error{Error: err.Error(), Code: "speaker"}
}

// speakerError answers a failed attach on a response not taken over.
func speakerError(w http.ResponseWriter, err error) {
	code, body := speakerRefusal(err)
	httpapi.WriteJSON(w, code, body)
}

// handleIngest takes a speaker's stream into the mixer: a chunked or sized
// HTTP body, or an Icecast source client's unframed one (see icecast.go).
// The stream is opened (codec found, headers read) before the speaker
// joins, so a bad one answers 415 or 400 and replaces nobody.
func (s *Origin) handleIngest(w http.ResponseWriter, r *http.Request) {
	sp, c, name, ok := s.requireSpeaker(basicChallenge{w}, r)
	if !ok {
		return
	}
	if reason := refusedType(r.Header.Get("Content-Type")); reason != "" {
		httpapi.WriteError(w, http.StatusUnsupportedMediaType, "unsupported_media", reason)
		return
	}
	log := s.log.With("space", sp.ID, "speaker", name, "remote", r.RemoteAddr)
	src, err := openSource(w, r)
	if err != nil {
		log.Warn("ingest: could not take over the connection", "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, "hijack", "could not take over the connection")
		return
	}
	defer src.close()
	// Unblock the body read when the show stops or (below) the speaker is
	// replaced.
	stop := make(chan struct{})
	defer close(stop)
	unblock := func(done <-chan struct{}) {
		select {
		case <-done:
		case <-s.ctx.Done():
		case <-stop:
			return
		}
		_ = src.setDeadline(time.Now())
	}
	go unblock(nil)
	body := &idleReader{r: src.body, set: src.setDeadline}
	src.sniff()
	stream, err := ingest.Open(body)
	if err != nil {
		s.ingestFailed(src, log, err, ingest.Stats{})
		return
	}
	defer stream.Close()
	spk, err := s.attachSpeaker(sp, c, name, mix.SpeakerOptions{})
	if err != nil {
		src.finish(speakerRefusal(err))
		return
	}
	defer spk.Close()
	go unblock(spk.Done())
	body.done = spk.Done()
	s.runIngest(src, stream, spk, log.With("codec", stream.Codec, "rate", stream.Rate))
}

// runIngest feeds the mixer until the stream ends.
func (s *Origin) runIngest(src *source, stream *ingest.Stream, spk *mix.Speaker, log *slog.Logger) {
	log.Info("speaker connected")
	src.accept()
	st, err := stream.Run(src.ctx, spk)
	if err != nil {
		s.ingestFailed(src, log, err, st)
		return
	}
	log.Info("speaker finished", "packets", st.Packets)
	src.finish(http.StatusOK, map[string]any{"codec": st.Codec, "packets": st.Packets, "bytes": st.Bytes})
}

// ingestFailed answers a stream that could not be taken: 415 for a codec
// onair does not decode, 400 for a malformed one; a dropped connection is
// only logged.
func (s *Origin) ingestFailed(src *source, log *slog.Logger, err error, st ingest.Stats) {
	var bad *ingest.BadInputError
	var unsup *ingest.UnsupportedError
	switch {
	case errors.As(err, &unsup):
		log.Warn("ingest refused", "reason", unsup.Reason)
		src.finish(http.StatusUnsupportedMediaType, httpapi.Error{Error: unsup.Reason, Code: "unsupported_media"})
	case errors.As(err, &bad):
		log.Warn("ingest rejected", "reason", bad.Reason, "packets", st.Packets)
		src.finish(http.StatusBadRequest, httpapi.Error{Error: bad.Reason, Code: "bad_media"})
	default:
		log.Info("speaker disconnected", "err", err, "packets", st.Packets)
	}
}

// idleReader extends the read deadline before every read, so a stalled
// encoder is cut after ingestIdle instead of holding its slot forever.
type idleReader struct {
	r    io.Reader
	set  func(time.Time) error
	done <-chan struct{} // the speaker was closed: stop reading
}

var errSpeakerClosed = errors.New("speaker closed (replaced by a new connection, or the show ended)")

func (ir *idleReader) Read(p []byte) (int, error) {
	select {
	case <-ir.done:
		return 0, errSpeakerClosed
	default:
	}
	_ = ir.set(time.Now().Add(ingestIdle))
	return ir.r.Read(p)
}
