package edge

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/onair-live/onair/internal/hls"
	"github.com/onair-live/onair/internal/program"
)

// fuzzPackager is a live LL-HLS packaging a few seconds into a show.
func fuzzPackager() *hls.Packager {
	pk := hls.New(hls.Config{})
	pkt := []byte{0xf8, 0xff, 0xfe} // 20 ms of CELT silence
	for i := range 300 {
		pk.Push(program.Frame{Seq: uint64(i), PTS: uint64(i) * program.FrameSamples, Packet: pkt})
	}
	return pk
}

// FuzzHLSRequest feeds what an HLS player may send, the playlist's query
// string (_HLS_msn, _HLS_part) and a media file name, through the parsing
// and the packager lookups the handlers make: a bad request is an error,
// a good one names a part of at most a 16-bit index, and nothing panics.
func FuzzHLSRequest(f *testing.F) {
	pk := fuzzPackager()
	f.Add("_HLS_msn=3&_HLS_part=2", "p3.2.m4s")
	f.Add("_HLS_msn=18446744073709551615", "s99999999999.m4s")
	f.Add("_HLS_part=1", "init.mp4")
	f.Add("_HLS_msn=1&_HLS_msn=2&_HLS_part=-1", "p0.9999.m4s")
	f.Add("%zz&_HLS_msn=%31", "../s1.m4s")
	f.Fuzz(func(t *testing.T, query, file string) {
		r := httptest.NewRequest("GET", "/hls/x/index.m3u8", nil)
		r.URL.RawQuery = query
		msn, part, blocking, err := reloadDirective(r)
		if err == nil && blocking {
			if msn >= 1<<40 || part < -1 || part > 65535 {
				t.Fatalf("%q: msn %d part %d", query, msn, part)
			}
			// 6 s into the show: nothing past segment 4 can be ready yet.
			if _, done, err := pk.Satisfied(msn, part); done && err == nil && msn > 4 {
				t.Fatalf("%q satisfied past the live edge", query)
			}
		}
		if m := mediaName.FindStringSubmatch(file); m != nil {
			// data, or an error, or neither (the next part: the handler waits).
			if data, _, err := lookupMedia(pk, m); data != nil && err != nil {
				t.Fatalf("%q: data and an error", file)
			}
		}
	})
}

func TestReloadDirective(t *testing.T) {
	for q, want := range map[string]string{"": "-1 false", "_HLS_msn=7": "7 -1 true", "_HLS_msn=7&_HLS_part=3": "7 3 true"} {
		r := httptest.NewRequest("GET", "/hls/x/index.m3u8?"+q, nil)
		msn, part, blocking, err := reloadDirective(r)
		got := strconv.Itoa(part) + " " + strconv.FormatBool(blocking)
		if blocking {
			got = strconv.FormatUint(msn, 10) + " " + got
		}
		if err != nil || got != want {
			t.Errorf("%q: %s %v, want %s", q, got, err, want)
		}
	}
	for _, q := range []string{"_HLS_part=1", "_HLS_msn=x", "_HLS_msn=1&_HLS_part=70000", "_HLS_msn=-1"} {
		r := httptest.NewRequest("GET", "/hls/x/index.m3u8?"+q, nil)
		if _, _, _, err := reloadDirective(r); err == nil {
			t.Errorf("%q accepted", q)
		}
	}
}
