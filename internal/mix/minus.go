package mix

import (
	"github.com/onair-live/onair/internal/program"
	"gopkg.in/hraban/opus.v2"
)

// returnBitrate is the mix-minus bitrate: speech from a few people.
const returnBitrate = 40000

// returnPath encodes one speaker's mix-minus: the sum of everyone else,
// limited and encoded for that speaker alone.
type returnPath struct {
	enc *opus.Encoder
	lim limiter
	buf []byte
	fn  func([]byte)
}

func newReturnPath(fn func([]byte)) (*returnPath, error) {
	enc, err := opus.NewEncoder(program.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	if err := enc.SetBitrate(returnBitrate); err != nil {
		return nil, err
	}
	return &returnPath{enc: enc, lim: limiter{gain: 1}, buf: make([]byte, maxPacketBytes), fn: fn}, nil
}

// send encodes sum minus own (when the speaker was heard this tick) using
// scratch, and hands the packet over. The packet is valid during the call.
func (r *returnPath) send(sum, own []float32, heard bool, scratch []float32) {
	copy(scratch, sum)
	if heard {
		for i, v := range own {
			scratch[i] -= v
		}
	}
	r.lim.process(scratch)
	n, err := r.enc.EncodeFloat32(scratch, r.buf)
	if err != nil {
		metricEncodeErrors.Inc()
		return
	}
	r.fn(r.buf[:n])
}
