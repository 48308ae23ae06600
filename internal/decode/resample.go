package decode

/*
#cgo pkg-config: soxr
#include <soxr.h>

static soxr_t rs_new(double in, double out, char const **err) {
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	// Medium quality: 16-bit precision, more than a 48 kb/s Opus program keeps.
	soxr_quality_spec_t q = soxr_quality_spec(SOXR_MQ, 0);
	soxr_error_t e = NULL;
	soxr_t s = soxr_create(in, out, 1, &e, &io, &q, NULL);
	*err = e;
	return s;
}

static const char *rs_process(soxr_t s, const float *in, size_t ilen, size_t *idone, float *out, size_t olen, size_t *odone) {
	return soxr_process(s, in, ilen, idone, out, olen, odone);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// OutRate is the rate of everything this package returns: the mixer's.
const OutRate = 48000

// Resampler converts mono audio to OutRate with libsoxr, streaming: output
// lags input by the filter's delay, and nothing is lost between calls.
// At OutRate already, it passes audio through. Not safe for concurrent use.
type Resampler struct {
	s   C.soxr_t
	in  int
	out []float32
}

// NewResampler converts from rate Hz.
func NewResampler(rate int) (*Resampler, error) {
	if rate < 8000 || rate > 192000 {
		return nil, fmt.Errorf("sample rate %d Hz out of the supported 8-192 kHz", rate)
	}
	r := &Resampler{in: rate}
	if rate == OutRate {
		return r, nil
	}
	var e *C.char
	r.s = C.rs_new(C.double(rate), C.double(OutRate), &e)
	if e != nil || r.s == nil {
		return nil, fmt.Errorf("soxr: %s", C.GoString(e))
	}
	return r, nil
}

// Process returns in converted, valid until the next call.
func (r *Resampler) Process(in []float32) ([]float32, error) {
	if r.s == nil || len(in) == 0 {
		return in, nil
	}
	want := len(in)*OutRate/r.in + 64
	if cap(r.out) < want {
		r.out = make([]float32, want)
	}
	out := r.out[:cap(r.out)]
	var idone, odone C.size_t
	total := 0
	for len(in) > 0 {
		e := C.rs_process(r.s, (*C.float)(unsafe.Pointer(&in[0])), C.size_t(len(in)), &idone,
			(*C.float)(unsafe.Pointer(&out[total])), C.size_t(len(out)-total), &odone)
		if e != nil {
			return nil, fmt.Errorf("soxr: %s", C.GoString(e))
		}
		total += int(odone)
		in = in[idone:]
		if total == len(out) {
			out = append(out, make([]float32, len(out))...)
			r.out = out
		}
	}
	return out[:total], nil
}

// Close frees the resampler.
func (r *Resampler) Close() {
	if r.s != nil {
		C.soxr_delete(r.s)
		r.s = nil
	}
}
