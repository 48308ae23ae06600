package hls

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/onair-live/onair/internal/program"
)

// partListSegments is how many of the newest segments list their parts:
// RFC 8216bis lets parts go once they are over three target durations old.
const partListSegments = 3

// PartHoldBack is how far behind the live edge players start: three parts.
func (c Config) PartHoldBack() time.Duration { return 3 * c.PartTarget() }

// PartName and SegmentName are the media URIs, relative to the playlist.
func PartName(msn uint64, k int) string {
	return "p" + strconv.FormatUint(msn, 10) + "." + strconv.Itoa(k) + ".m4s"
}

// SegmentName is the URI of segment msn.
func SegmentName(msn uint64) string { return "s" + strconv.FormatUint(msn, 10) + ".m4s" }

// InitName is the URI of the init segment.
const InitName = "init.mp4"

func seconds(frames int) string {
	return strconv.FormatFloat(float64(frames)*program.FrameDuration.Seconds(), 'f', 3, 64)
}

// render writes the media playlist; the caller holds the lock.
func (p *Packager) render() []byte {
	c := p.cfg
	b := make([]byte, 0, 4096)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:9\n"...)
	b = fmt.Appendf(b, "#EXT-X-TARGETDURATION:%d\n", int(math.Ceil(c.SegmentTarget().Seconds())))
	b = fmt.Appendf(b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%.3f\n", c.PartHoldBack().Seconds())
	b = fmt.Appendf(b, "#EXT-X-PART-INF:PART-TARGET=%.3f\n", c.PartTarget().Seconds())
	if len(p.segs) > 0 {
		b = fmt.Appendf(b, "#EXT-X-MEDIA-SEQUENCE:%d\n", p.segs[0].msn)
	}
	b = append(b, "#EXT-X-MAP:URI=\""+InitName+"\"\n"...)
	for i, seg := range p.segs {
		b = fmt.Appendf(b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", seg.pdt.UTC().Format("2006-01-02T15:04:05.000Z"))
		if i >= len(p.segs)-partListSegments {
			b = p.appendParts(b, seg)
		}
		if seg.complete() {
			b = fmt.Appendf(b, "#EXTINF:%s,\n%s\n", seconds(seg.frames()), SegmentName(seg.msn))
		}
	}
	if p.ended {
		return append(b, "#EXT-X-ENDLIST\n"...)
	}
	if seg := p.last(); seg != nil {
		next := seg.parts[len(seg.parts)-1].index + 1
		msn, k := next/uint64(c.SegmentParts), int(next%uint64(c.SegmentParts))
		b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""+PartName(msn, k)+"\"\n"...)
	}
	return b
}

func (p *Packager) appendParts(b []byte, seg *segment) []byte {
	for _, pt := range seg.parts {
		k := int(pt.index % uint64(p.cfg.SegmentParts))
		b = fmt.Appendf(b, "#EXT-X-PART:DURATION=%s,URI=\"%s\",INDEPENDENT=YES\n", seconds(pt.frames), PartName(seg.msn, k))
	}
	return b
}
