package server

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/onair-live/onair/internal/ingest"
	"github.com/onair-live/onair/internal/space"
	"github.com/onair-live/onair/internal/store"
)

// ingestIdle cuts an encoder that sends nothing for this long.
const ingestIdle = 15 * time.Second

var speakerName = regexp.MustCompile(`^[\p{L}\p{N} ._-]{1,64}$`)

// speakerParam reads ?speaker=NAME ("speaker" when absent): 400 when the
// name would not be safe to show.
func speakerParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.URL.Query().Get("speaker")
	if name == "" {
		name = "speaker"
	}
	if !speakerName.MatchString(name) {
		writeError(w, http.StatusBadRequest, "bad_speaker", "speaker name: 1-64 letters, digits, spaces, . _ -")
		return "", false
	}
	return name, true
}

// requireSpeaker checks the host token and the speaker's name, for the
// ways a speaker comes in (ffmpeg ingest, WHIP).
func (s *Server) requireSpeaker(w http.ResponseWriter, r *http.Request) (store.Space, string, bool) {
	sp, ok := s.requireHost(w, r)
	if !ok {
		return sp, "", false
	}
	name, ok := speakerParam(w, r)
	return sp, name, ok
}

// handleIngest takes a speaker's chunked Ogg/Opus PUT body into the mixer.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	sp, name, ok := s.requireSpeaker(w, r)
	if !ok {
		return
	}
	spk, err := s.mgr.Speaker(sp.ID, name)
	switch {
	case errors.Is(err, space.ErrEnded):
		writeError(w, http.StatusConflict, "ended", "the space has ended")
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "speaker", err.Error())
		return
	}
	defer spk.Close()
	log := s.log.With("space", sp.ID, "speaker", name, "remote", r.RemoteAddr)
	log.Info("speaker connected")
	rc := http.NewResponseController(w)
	body := &idleReader{r: r.Body, rc: rc, done: spk.Done()}
	// Unblock the body read when the speaker is replaced or the show stops.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-spk.Done():
		case <-s.ctx.Done():
		case <-stop:
			return
		}
		_ = rc.SetReadDeadline(time.Now())
	}()
	st, err := ingest.Run(r.Context(), body, spk)
	var bad *ingest.BadInputError
	switch {
	case errors.As(err, &bad):
		log.Warn("ingest rejected", "reason", bad.Reason, "packets", st.Packets)
		writeError(w, http.StatusBadRequest, "bad_media", bad.Reason)
	case err != nil:
		log.Info("speaker disconnected", "err", err, "packets", st.Packets)
	default:
		log.Info("speaker finished", "packets", st.Packets)
		writeJSON(w, http.StatusOK, map[string]any{"packets": st.Packets, "bytes": st.Bytes})
	}
}

// idleReader extends the read deadline before every read, so a stalled
// encoder is cut after ingestIdle instead of holding its slot forever.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	done <-chan struct{} // the speaker was closed: stop reading
}

var errSpeakerClosed = errors.New("speaker closed (replaced by a new connection, or the show ended)")

func (ir *idleReader) Read(p []byte) (int, error) {
	select {
	case <-ir.done:
		return 0, errSpeakerClosed
	default:
	}
	_ = ir.rc.SetReadDeadline(time.Now().Add(ingestIdle))
	return ir.r.Read(p)
}
