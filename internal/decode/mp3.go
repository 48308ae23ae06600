package decode

/*
#cgo pkg-config: libmpg123
#include <mpg123.h>

static mpg123_handle *mp3_new(int *err) {
	mpg123_handle *mh = mpg123_new(NULL, err);
	if (!mh) return NULL;
	mpg123_param(mh, MPG123_ADD_FLAGS, MPG123_QUIET, 0);
	// A live stream's LAME/Xing frame counts nothing real (an encoder writing
	// to a socket cannot go back to fill it in): gapless trimming by it would
	// cut the stream short.
	mpg123_param(mh, MPG123_REMOVE_FLAGS, MPG123_GAPLESS, 0);
	mpg123_param(mh, MPG123_ADD_FLAGS, MPG123_IGNORE_INFOFRAME, 0);
	// Mono float at whatever rate the stream has: libmpg123 mixes stereo
	// down itself when mono is the only output it may give.
	mpg123_format_none(mh);
	const long *rates;
	size_t n;
	mpg123_rates(&rates, &n);
	for (size_t i = 0; i < n; i++) mpg123_format(mh, rates[i], MPG123_MONO, MPG123_ENC_FLOAT_32);
	if ((*err = mpg123_open_feed(mh)) != MPG123_OK) {
		mpg123_delete(mh);
		return NULL;
	}
	return mh;
}

static long mp3_rate(mpg123_handle *mh) {
	long rate;
	int ch, enc;
	if (mpg123_getformat(mh, &rate, &ch, &enc) != MPG123_OK) return 0;
	return rate;
}
*/
import "C"

import (
	"fmt"
	"io"
	"unsafe"
)

// mp3Feed is how much of the stream is read and fed at a time.
const mp3Feed = 4 << 10

// mp3MaxProbe bounds how far into a stream the first MP3 frame may be.
const mp3MaxProbe = 256 << 10

// MP3 decodes an MPEG audio stream read from r with libmpg123, a frame at
// a time. After more than its resync limit (1 KiB) of garbage it fails
// rather than guess. Not safe for concurrent use.
type MP3 struct {
	mh   *C.mpg123_handle
	r    io.Reader
	in   []byte
	rate int
	rs   *Resampler
}

// NewMP3 reads up to the stream's first frame to learn its rate.
func NewMP3(r io.Reader) (*MP3, error) {
	var e C.int
	mh := C.mp3_new(&e)
	if mh == nil {
		return nil, fmt.Errorf("mpg123: %s", C.GoString(C.mpg123_plain_strerror(e)))
	}
	m := &MP3{mh: mh, r: r, in: make([]byte, mp3Feed)}
	// libmpg123 reports the format before it decodes the first frame.
	for fed := 0; m.rate == 0; {
		_, code := m.frame()
		switch {
		case code == C.MPG123_NEED_MORE && fed > mp3MaxProbe:
			m.Close()
			return nil, fmt.Errorf("mp3: no MPEG audio frame in the first %d KiB", mp3MaxProbe>>10)
		case code == C.MPG123_NEED_MORE:
			if err := m.feed(); err != nil {
				m.Close()
				return nil, err
			}
			fed += mp3Feed
		default:
			if err := m.check(code); err != nil {
				m.Close()
				return nil, err
			}
		}
	}
	rs, err := NewResampler(m.rate)
	if err != nil {
		m.Close()
		return nil, err
	}
	m.rs = rs
	return m, nil
}

// Rate is the stream's sample rate as sent.
func (m *MP3) Rate() int { return m.rate }

// Next returns the next frame's audio as 48 kHz mono, valid until the next
// call (possibly empty while the resampler fills); io.EOF at the end.
func (m *MP3) Next() ([]float32, error) {
	for {
		pcm, code := m.frame()
		if code == C.MPG123_NEED_MORE {
			if err := m.feed(); err != nil {
				return nil, err
			}
			continue
		}
		if err := m.check(code); err != nil {
			return nil, err
		}
		if len(pcm) > 0 {
			return m.rs.Process(pcm)
		}
	}
}

// feed gives libmpg123 the next chunk of the stream.
func (m *MP3) feed() error {
	n, err := m.r.Read(m.in)
	if n == 0 {
		return err
	}
	return m.check(C.mpg123_feed(m.mh, (*C.uchar)(unsafe.Pointer(&m.in[0])), C.size_t(n)))
}

// frame decodes the next frame: its audio is in libmpg123's buffer, valid
// until the next call.
func (m *MP3) frame() ([]float32, C.int) {
	var num C.off_t
	var audio *C.uchar
	var n C.size_t
	code := C.mpg123_decode_frame(m.mh, &num, &audio, &n)
	if code != C.MPG123_OK || n == 0 {
		return nil, code
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(audio)), int(n)/4), code
}

// check reads a result: the rate once the first frame is seen, and an
// error for a failure or a rate that changes mid-stream.
func (m *MP3) check(code C.int) error {
	switch code {
	case C.MPG123_OK, C.MPG123_NEW_FORMAT:
		r := int(C.mp3_rate(m.mh))
		if m.rate != 0 && r != m.rate {
			return fmt.Errorf("mp3: the sample rate changed mid-stream (%d to %d Hz)", m.rate, r)
		}
		m.rate = r
		return nil
	case C.MPG123_ERR:
		return fmt.Errorf("mp3: %s", C.GoString(C.mpg123_strerror(m.mh)))
	}
	return fmt.Errorf("mp3: %s", C.GoString(C.mpg123_plain_strerror(code)))
}

// Close frees the decoder.
func (m *MP3) Close() {
	if m.mh != nil {
		C.mpg123_delete(m.mh)
		m.mh = nil
	}
	if m.rs != nil {
		m.rs.Close()
	}
}
