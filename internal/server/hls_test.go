package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// playlist is the part of an LL-HLS media playlist the tests look at.
type playlist struct {
	msn      uint64 // media sequence number of the first segment
	parts    []hlsPart
	ended    bool
	holdBack float64
}

type hlsPart struct {
	msn uint64
	k   int
	end time.Time // capture time of the part's last sample
}

func parsePlaylist(t *testing.T, body string) playlist {
	t.Helper()
	var pl playlist
	var pdt time.Time
	var inSeg float64
	msn := uint64(0)
	for _, line := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			pl.msn, _ = strconv.ParseUint(line[22:], 10, 64)
			msn = pl.msn
		case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
			var err error
			if pdt, err = time.Parse(time.RFC3339Nano, line[25:]); err != nil {
				t.Fatalf("PDT %q: %v", line, err)
			}
			inSeg = 0
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			var d float64
			var uri string
			for _, kv := range strings.Split(line[12:], ",") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "DURATION":
					d, _ = strconv.ParseFloat(v, 64)
				case "URI":
					uri = strings.Trim(v, `"`)
				}
			}
			inSeg += d
			var m uint64
			var k int
			if _, err := fmt.Sscanf(uri, "p%d.%d.m4s", &m, &k); err != nil {
				t.Fatalf("part URI %q", uri)
			}
			pl.parts = append(pl.parts, hlsPart{msn: m, k: k, end: pdt.Add(time.Duration(inSeg * float64(time.Second)))})
		case strings.HasPrefix(line, "#EXTINF:"):
			msn++
		case strings.HasPrefix(line, "#EXT-X-SERVER-CONTROL:"):
			_, v, _ := strings.Cut(line, "PART-HOLD-BACK=")
			pl.holdBack, _ = strconv.ParseFloat(v, 64)
		case line == "#EXT-X-ENDLIST":
			pl.ended = true
		}
	}
	return pl
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// liveShow starts a space with two ffmpeg speakers (440 and 660 Hz) live.
func liveShow(t *testing.T, e *env) (id, tok string, stop func()) {
	t.Helper()
	id, tok = e.space("hls")
	ctx, cancel := context.WithCancel(context.Background())
	a := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=a", 440, "Authorization: Bearer "+tok, 20000)
	b := pushTone(ctx, t, e.host+"/ingest/"+id+"?speaker=b&token="+tok, 660, "", 20000)
	e.waitPlaying(id, tok, 2)
	e.transition(id, tok, "start")
	return id, tok, func() { cancel(); a.Wait(); b.Wait() }
}

// TestLLHLSLiveAndReplay has ffmpeg read the live LL-HLS and then the VOD
// replay: both hold the two speakers' tones.
func TestLLHLSLiveAndReplay(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, tok, stop := liveShow(t, e)
	defer stop()
	started := time.Now()
	hls := e.join(id)["hls"].(string)
	pcm := decodeLive(t, hls, 5)
	if got := float64(len(pcm)) / 48000; got < 4.9 {
		t.Fatalf("decoded %.2f s of live HLS, want 5", got)
	}
	assertTones(t, pcm, 440, 660)

	sp := e.transition(id, tok, "end")
	live := time.Since(started).Seconds()
	stop()
	// The live playlist now ends with ENDLIST.
	if code, body := get(t, hls); code != 200 || !parsePlaylist(t, body).ended {
		t.Fatalf("live playlist after the end: %d\n%s", code, body)
	}
	replay := e.pub + "/replay/" + id + "/index.m3u8"
	code, body := get(t, replay)
	if code != 200 || !strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") {
		t.Fatalf("replay playlist: %d %s", code, body)
	}
	rec := sp["recorded_seconds"].(float64)
	if d := probeHLSDuration(t, replay); d < live-1 || d > live+1 || d < rec-0.5 || d > rec+0.5 {
		t.Fatalf("replay HLS duration %.2f s; live %.2f s, recorded %.2f s", d, live, rec)
	}
	rep := decodeLive(t, replay, rec-0.5)
	assertTones(t, rep[48000/2:], 440, 660)
}

func probeHLSDuration(t *testing.T, url string) float64 {
	t.Helper()
	pcm := decodeLive(t, url, 3600)
	return float64(len(pcm)) / 48000
}

// TestLLHLSLatency follows the live edge as an LL-HLS player does, with
// blocking playlist reloads for the next part, and measures how old each
// part's last sample is when the client has it (the availability latency)
// and the glass-to-glass latency of a player that keeps PART-HOLD-BACK.
func TestLLHLSLatency(t *testing.T) {
	needFFmpeg(t)
	e := startServer(t)
	id, _, stop := liveShow(t, e)
	defer stop()
	hls := e.join(id)["hls"].(string)
	_, body := get(t, hls)
	pl := parsePlaylist(t, body)
	var lat []time.Duration
	last := pl.parts[len(pl.parts)-1]
	for len(lat) < 25 {
		msn, k := last.msn, last.k+1
		if k == 10 {
			msn, k = msn+1, 0
		}
		code, body := get(t, fmt.Sprintf("%s&_HLS_msn=%d&_HLS_part=%d", hls, msn, k))
		now := time.Now()
		if code != 200 {
			t.Fatalf("blocking reload: %d %s", code, body)
		}
		pl = parsePlaylist(t, body)
		last = pl.parts[len(pl.parts)-1]
		if last.msn != msn || last.k != k {
			t.Fatalf("asked for part %d.%d, newest is %d.%d", msn, k, last.msn, last.k)
		}
		// The part's newest frame was mixed 20 ms before the part's end.
		lat = append(lat, now.Sub(last.end.Add(-20*time.Millisecond)))
	}
	slices.Sort(lat)
	hold := time.Duration(pl.holdBack * float64(time.Second))
	p50, max := lat[len(lat)/2], lat[len(lat)-1]
	t.Logf("LL-HLS part availability latency: p50 %v, max %v; glass-to-glass at PART-HOLD-BACK %v: p50 %v, max %v",
		p50.Round(time.Millisecond), max.Round(time.Millisecond), hold, (p50 + hold).Round(time.Millisecond), (max + hold).Round(time.Millisecond))
	if max+hold > 2*time.Second {
		t.Fatalf("glass-to-glass %v over the 2 s goal", max+hold)
	}
}

func TestHLSBadRequests(t *testing.T) {
	e := startServer(t)
	id, tok := e.space("hls codes")
	sched, _ := e.space("later")
	tkt := e.join(id)["ticket"].(string)
	schedTkt := e.join(sched)["ticket"].(string)
	e.transition(id, tok, "start")
	pl := e.pub + "/hls/" + id + "/index.m3u8?t=" + tkt
	code, body := get(t, pl)
	if code != 200 {
		t.Fatalf("playlist: %d %s", code, body)
	}
	p := parsePlaylist(t, body)
	cur := p.parts[len(p.parts)-1].msn
	cases := []struct {
		name, url string
		want      int
	}{
		{"msn not a number", pl + "&_HLS_msn=abc", 400},
		{"negative msn", pl + "&_HLS_msn=-1", 400},
		{"part without msn", pl + "&_HLS_part=1", 400},
		{"part not a number", pl + "&_HLS_msn=1&_HLS_part=x", 400},
		{"part past the segment", pl + fmt.Sprintf("&_HLS_msn=%d&_HLS_part=11", cur), 400},
		{"msn far in the future", pl + fmt.Sprintf("&_HLS_msn=%d", cur+100), 400},
		{"msn in the past", pl + "&_HLS_msn=0&_HLS_part=0", 200},
		{"no ticket", e.pub + "/hls/" + id + "/index.m3u8", 401},
		{"forged ticket", e.pub + "/hls/" + id + "/index.m3u8?t=AAAA", 403},
		{"unknown space", e.pub + "/hls/nosuch/index.m3u8?t=" + tkt, 403},
		{"not started", e.pub + "/hls/" + sched + "/index.m3u8?t=" + schedTkt, 503},
		{"part far in the future", e.pub + "/hls/" + id + fmt.Sprintf("/p%d.0.m4s", cur+100), 400},
		{"bad media name", e.pub + "/hls/" + id + "/../../etc/passwd", 404},
		{"other media name", e.pub + "/hls/" + id + "/x.ts", 404},
		{"media of an unknown space", e.pub + "/hls/nosuch/init.mp4", 404},
		{"init segment", e.pub + "/hls/" + id + "/init.mp4", 200},
	}
	for _, c := range cases {
		if code, body := get(t, c.url); code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
	}
}
