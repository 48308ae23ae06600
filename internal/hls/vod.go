package hls

import (
	"fmt"
	"math"
	"time"

	"github.com/onair-live/onair/internal/fmp4"
	"github.com/onair-live/onair/internal/program"
)

// VOD renders the replay playlist of a recorded show: one file (uri) whose
// init segment and fragments are addressed as byte ranges, so the replay
// is a single cacheable file that also downloads and plays on its own.
// start is the capture time of the show's first frame.
func VOD(uri string, idx fmp4.Index, start time.Time) []byte {
	segs := group(idx.Fragments)
	target := 1
	for _, f := range segs {
		target = max(target, int(math.Round(dur(f))))
	}
	b := make([]byte, 0, 256+64*len(idx.Fragments))
	b = fmt.Appendf(b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n", target)
	b = append(b, "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	b = fmt.Appendf(b, "#EXT-X-MAP:URI=\"%s\",BYTERANGE=\"%d@0\"\n", uri, idx.InitSize)
	if !start.IsZero() {
		b = fmt.Appendf(b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", start.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	for _, f := range segs {
		b = fmt.Appendf(b, "#EXTINF:%.3f,\n#EXT-X-BYTERANGE:%d@%d\n%s\n", dur(f), f.Size, f.Offset, uri)
	}
	return append(b, "#EXT-X-ENDLIST\n"...)
}

func dur(f fmp4.FragmentInfo) float64 {
	return float64(f.Samples*program.FrameSamples) / program.SampleRate
}

// vodSegment is how long replay segments are: fragments are grouped until
// a segment holds this much.
const vodSegment = 2 * time.Second

// group joins consecutive fragments (contiguous in the file) into segments
// of about vodSegment each.
func group(frags []fmp4.FragmentInfo) []fmp4.FragmentInfo {
	var out []fmp4.FragmentInfo
	for _, f := range frags {
		if n := len(out); n > 0 && dur(out[n-1]) < vodSegment.Seconds() && out[n-1].Offset+out[n-1].Size == f.Offset {
			out[n-1].Size += f.Size
			out[n-1].Samples += f.Samples
			continue
		}
		out = append(out, f)
	}
	return out
}
