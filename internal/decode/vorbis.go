// Package decode turns the codecs radio encoders send besides Opus (Ogg/Vorbis
// through libvorbis, MP3 through libmpg123) into 48 kHz mono PCM for the mixer.
package decode

/*
#cgo pkg-config: vorbis ogg
#include <stdlib.h>
#include <string.h>
#include <vorbis/codec.h>

typedef struct {
	vorbis_info vi;
	vorbis_comment vc;
	vorbis_dsp_state vd;
	vorbis_block vb;
	int headers;
} vdec;

static vdec *vdec_new(void) {
	vdec *d = calloc(1, sizeof(vdec));
	if (d) {
		vorbis_info_init(&d->vi);
		vorbis_comment_init(&d->vc);
	}
	return d;
}

static void vdec_free(vdec *d) {
	if (d->headers == 3) {
		vorbis_block_clear(&d->vb);
		vorbis_dsp_clear(&d->vd);
	}
	vorbis_comment_clear(&d->vc);
	vorbis_info_clear(&d->vi);
	free(d);
}

static int vdec_header(vdec *d, unsigned char *p, long n) {
	ogg_packet op;
	memset(&op, 0, sizeof op);
	op.packet = p;
	op.bytes = n;
	op.b_o_s = d->headers == 0;
	op.packetno = d->headers;
	int r = vorbis_synthesis_headerin(&d->vi, &d->vc, &op);
	if (r != 0) return r;
	if (++d->headers == 3) {
		if (vorbis_synthesis_init(&d->vd, &d->vi) != 0) return OV_EBADHEADER;
		vorbis_block_init(&d->vd, &d->vb);
	}
	return 0;
}

// vdec_packet decodes one audio packet and writes it downmixed to mono into
// out (at most max samples): the number written, or a negative error.
static int vdec_packet(vdec *d, unsigned char *p, long n, float *out, int max) {
	ogg_packet op;
	memset(&op, 0, sizeof op);
	op.packet = p;
	op.bytes = n;
	op.packetno = 3;
	int r = vorbis_synthesis(&d->vb, &op);
	if (r == OV_ENOTAUDIO) return 0;
	if (r != 0) return r;
	if (vorbis_synthesis_blockin(&d->vd, &d->vb) != 0) return OV_EINVAL;
	float **pcm;
	int got, w = 0, ch = d->vi.channels;
	while ((got = vorbis_synthesis_pcmout(&d->vd, &pcm)) > 0) {
		if (got > max - w) got = max - w;
		for (int i = 0; i < got; i++) {
			float s = 0;
			for (int c = 0; c < ch; c++) s += pcm[c][i];
			out[w + i] = s / ch;
		}
		w += got;
		vorbis_synthesis_read(&d->vd, got);
		if (w == max) break;
	}
	return w;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// maxVorbisBlock is the most samples one Vorbis packet yields per channel
// (the largest block size the format allows, 8192, halved by the overlap).
const maxVorbisBlock = 4096

// Vorbis decodes one Vorbis logical stream, packet by packet, on top of the
// caller's Ogg demuxer. Not safe for concurrent use.
type Vorbis struct {
	d    *C.vdec
	rate int
	out  []float32 // mono at the stream's rate
	rs   *Resampler
}

// NewVorbis starts a decoder from the stream's three header packets
// (identification, comment, setup), as they come out of the demuxer.
func NewVorbis(headers [3][]byte) (*Vorbis, error) {
	d := C.vdec_new()
	if d == nil {
		return nil, errors.New("vorbis: out of memory")
	}
	v := &Vorbis{d: d}
	names := [3]string{"identification", "comment", "setup"}
	for i, h := range headers {
		if len(h) == 0 {
			v.Close()
			return nil, fmt.Errorf("vorbis: empty %s header", names[i])
		}
		if r := C.vdec_header(d, (*C.uchar)(unsafe.Pointer(&h[0])), C.long(len(h))); r != 0 {
			v.Close()
			return nil, fmt.Errorf("vorbis: bad %s header (libvorbis error %d)", names[i], int(r))
		}
	}
	v.rate = int(d.vi.rate)
	rs, err := NewResampler(v.rate)
	if err != nil {
		v.Close()
		return nil, err
	}
	v.rs, v.out = rs, make([]float32, maxVorbisBlock)
	return v, nil
}

// IsVorbisHead reports whether p is a Vorbis identification header.
func IsVorbisHead(p []byte) bool {
	return len(p) >= 7 && p[0] == 1 && string(p[1:7]) == "vorbis"
}

// Channels and Rate describe the stream as sent.
func (v *Vorbis) Channels() int { return int(v.d.vi.channels) }
func (v *Vorbis) Rate() int     { return v.rate }

// Decode decodes one audio packet and returns its audio as 48 kHz mono,
// valid until the next call (empty while the resampler fills).
func (v *Vorbis) Decode(pkt []byte) ([]float32, error) {
	if len(pkt) == 0 {
		return nil, nil
	}
	n := C.vdec_packet(v.d, (*C.uchar)(unsafe.Pointer(&pkt[0])), C.long(len(pkt)),
		(*C.float)(unsafe.Pointer(&v.out[0])), C.int(len(v.out)))
	if n < 0 {
		return nil, fmt.Errorf("vorbis: undecodable audio packet (libvorbis error %d)", int(n))
	}
	return v.rs.Process(v.out[:n])
}

// Close frees the decoder.
func (v *Vorbis) Close() {
	if v.d != nil {
		C.vdec_free(v.d)
		v.d = nil
	}
	if v.rs != nil {
		v.rs.Close()
	}
}
