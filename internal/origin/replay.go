package origin

import (
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/onair-live/onair/internal/fmp4"
	"github.com/onair-live/onair/internal/hls"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/record"
	"github.com/onair-live/onair/internal/store"
)

// replayFile names the fragmented-MP4 recording inside /replay/{id}/.
const replayFile = "audio.mp4"

// vodCache keeps each replay playlist once built: an ended show's
// recording never changes.
type vodCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *vodCache) get(id string, build func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.m[id]; ok {
		return b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = make(map[string][]byte)
	}
	c.m[id] = b
	return b, nil
}

// HandleReplay serves the Ogg/Opus recording once the show has ended.
func (s *Origin) HandleReplay(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".opus")
	if !ok {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "replays are at /replay/{id}.opus and /replay/{id}/index.m3u8")
		return
	}
	r.SetPathValue("id", id)
	if _, ok := s.endedSpace(w, r); ok {
		serveFile(w, r, s.mgr.RecordingPath(id), "audio/ogg")
	}
}

// endedSpace loads a space whose replay may be served: 404 unknown, 409 not
// ended yet.
func (s *Origin) endedSpace(w http.ResponseWriter, r *http.Request) (store.Space, bool) {
	sp, ok := s.LoadSpace(w, r)
	if ok && sp.State != store.Ended {
		httpapi.WriteError(w, http.StatusConflict, "not_ended", "the replay is available when the show ends (state: "+string(sp.State)+")")
		return sp, false
	}
	return sp, ok
}

// HandleReplayHLS serves the replay as VOD HLS: a playlist of byte ranges
// into the recording's fragmented MP4, built from the file itself, so it
// also works for a show whose server crashed.
func (s *Origin) HandleReplayHLS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*") // players on other origins read it
	sp, ok := s.endedSpace(w, r)
	if !ok {
		return
	}
	path := record.MP4Path(s.mgr.RecordingPath(sp.ID))
	switch r.PathValue("file") {
	case replayFile:
		serveFile(w, r, path, "audio/mp4")
	case "index.m3u8":
		pl, err := s.vod.get(sp.ID, func() ([]byte, error) { return vodPlaylist(path, sp) })
		if err != nil {
			httpapi.WriteError(w, http.StatusNotFound, "no_recording", "this space has no replay segments")
			return
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(pl)
	default:
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "replays are at /replay/{id}/index.m3u8 and /replay/{id}.opus")
	}
}

func vodPlaylist(path string, sp store.Space) ([]byte, error) {
	idx, err := fmp4.ReadIndexFile(path)
	if err != nil {
		return nil, err
	}
	return hls.VOD(replayFile, idx, sp.StartedAt), nil
}

// serveFile serves a finished recording with Range support, so players seek.
func serveFile(w http.ResponseWriter, r *http.Request, path, ctype string) {
	f, err := os.Open(path)
	if err != nil {
		httpapi.WriteError(w, http.StatusNotFound, "no_recording", "this space was never live, so there is no recording")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		httpapi.WriteError(w, http.StatusInternalServerError, "internal", "cannot read the recording")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, strings.TrimPrefix(path, "/"), fi.ModTime(), f)
}
