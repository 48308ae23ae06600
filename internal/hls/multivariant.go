package hls

import (
	"errors"
	"fmt"
	"strings"
)

// Multivariant writes a multivariant playlist that lists the same audio
// once per URI, the preferred first: redundant variant streams (RFC
// 8216bis, "Redundant Variant Streams"). Their EXT-X-STREAM-INF tags are
// identical, so a player treats them as one stream over several paths:
// Safari and AVPlayer fail over between them, and hls.js (since 1.5) makes
// each duplicate a Pathway of its content-steering controller, which
// penalizes the failing one and moves on at the first network error. No
// PATHWAY-ID or EXT-X-CONTENT-STEERING: those need a steering server to
// order the paths, and without one they add nothing hls.js does not derive.
//
// bandwidth is the peak bit/s of the stream (BANDWIDTH is required); the
// URIs are media playlists and must be single lines.
func Multivariant(bandwidth int, uris []string) ([]byte, error) {
	if bandwidth <= 0 {
		return nil, errors.New("hls: a variant needs a positive BANDWIDTH")
	}
	if len(uris) == 0 {
		return nil, errors.New("hls: a multivariant playlist needs at least one variant")
	}
	b := make([]byte, 0, 64+len(uris)*160)
	b = append(b, "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	for _, u := range uris {
		if err := checkURI(u); err != nil {
			return nil, err
		}
		// CODECS is the fMP4 sample entry's: Opus (RFC 6381 uses the
		// lower-case name, which MSE's isTypeSupported takes).
		b = fmt.Appendf(b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,CODECS=\"opus\"\n%s\n", bandwidth, u)
	}
	return b, nil
}

// checkURI refuses what would break the playlist's line structure: a URI
// line is the whole line, and one that starts with '#' is a tag or comment.
func checkURI(u string) error {
	if u == "" || strings.HasPrefix(u, "#") || strings.TrimSpace(u) != u {
		return fmt.Errorf("hls: variant URI %q is empty, starts with '#' or has surrounding space", u)
	}
	for _, r := range u {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("hls: variant URI %q has a control character", u)
		}
	}
	return nil
}

// ProgramBandwidth is the BANDWIDTH of a program encoded at bitrate bit/s
// and packaged as CMAF parts: Opus's VBR peaks (up to a quarter above the
// target on speech) plus each part's moof and mdat headers, about 200
// bytes per 200 ms part.
func (c Config) ProgramBandwidth(bitrate int) int {
	c = c.WithDefaults()
	perPart := 200 * 8 // bits of boxes per part
	return bitrate*5/4 + int(float64(perPart)/c.PartTarget().Seconds())
}
