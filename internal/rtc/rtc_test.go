package rtc

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"
)

const chromeOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"

// FuzzOffer hands what a WHIP speaker or WHEP listener may POST to the
// checks and then to pion, as the server does: anything is refused with
// ErrBadOffer or applied, never a panic or a hang.
func FuzzOffer(f *testing.F) {
	api, err := NewAPI(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(chromeOffer)
	f.Add("v=0\r\nm=audio 9 RTP/AVP 0\r\n")
	f.Add("v=0\nm=audio \nm=video 9 UDP/TLS/RTP/SAVPF 96\na=sendonly\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, offer string) {
		if err := CheckOffer(offer); err != nil {
			if !errors.Is(err, ErrBadOffer) {
				t.Fatalf("CheckOffer: %v is not ErrBadOffer", err)
			}
			return
		}
		_ = AudioCanReceive(offer)
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		_ = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
	})
}

func TestCheckOffer(t *testing.T) {
	if err := CheckOffer(chromeOffer); err != nil || !AudioCanReceive(chromeOffer) {
		t.Fatalf("a browser's offer: %v", err)
	}
	for _, bad := range []string{"", "hello", "v=0\r\nm=video 9 RTP/AVP 96\r\n"} {
		if err := CheckOffer(bad); !errors.Is(err, ErrBadOffer) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
