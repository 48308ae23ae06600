package load

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Sources is a list of source addresses that listeners bind to in turn.
type Sources struct {
	blocks []srcBlock
	total  uint64
}

type srcBlock struct {
	first netip.Addr // first usable address
	n     uint64
	nets  uint64 // /24 networks in the block (0: a block of /24 or smaller, in order)
}

// ParseSources parses a comma-separated list of IP addresses and CIDR
// blocks ("127.0.0.0/16,127.1.0.1"). Blocks larger than a /24 are taken a
// /24 at a time, round-robin: consecutive listeners come from different
// /24 networks, as a real crowd does (per-prefix limits see many networks),
// and the .0 and .255 of each /24 are left out. In smaller blocks the
// network and broadcast addresses are left out.
func ParseSources(s string) (*Sources, error) {
	src := &Sources{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("source %q: want an IP address or a CIDR block such as 127.0.0.0/16", f)
			}
			src.blocks = append(src.blocks, srcBlock{first: a, n: 1})
			src.total++
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("source %q: want a CIDR block such as 127.0.0.0/16", f)
		}
		p = p.Masked()
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("source %q: CIDR blocks must be IPv4 (list IPv6 addresses one by one)", f)
		}
		if p.Bits() < 8 {
			return nil, fmt.Errorf("source %q: a block larger than /8 makes no sense", f)
		}
		size := uint64(1) << (32 - p.Bits())
		first := p.Addr()
		var nets uint64
		switch {
		case p.Bits() < 24:
			nets = size / 256
			first, size = first.Next(), nets*254
		case size > 2:
			first, size = first.Next(), size-2
		}
		src.blocks = append(src.blocks, srcBlock{first: first, n: size, nets: nets})
		src.total += size
	}
	if src.total == 0 {
		return nil, fmt.Errorf("no source addresses in %q", s)
	}
	return src, nil
}

// Len is the number of addresses.
func (s *Sources) Len() uint64 {
	if s == nil {
		return 0
	}
	return s.total
}

// At returns the address for listener i: round-robin over all addresses.
func (s *Sources) At(i int) net.IP {
	if s == nil {
		return nil
	}
	k := uint64(i) % s.total
	for _, b := range s.blocks {
		if k < b.n {
			if b.n == 1 {
				return net.IP(b.first.AsSlice())
			}
			a := b.first.As4()
			v := binary.BigEndian.Uint32(a[:]) + uint32(k)
			if b.nets > 0 { // /24 by /24: network k mod nets, host k / nets
				v = binary.BigEndian.Uint32(a[:]) + uint32(k%b.nets)*256 + uint32(k/b.nets)
			}
			ip := make(net.IP, 4)
			binary.BigEndian.PutUint32(ip, v)
			return ip
		}
		k -= b.n
	}
	return nil
}

// Loopback reports whether every address is a loopback address.
func (s *Sources) Loopback() bool {
	for _, b := range s.blocks {
		if !b.first.IsLoopback() {
			return false
		}
		if b.n > 1 {
			a := b.first.As4()
			last := binary.BigEndian.Uint32(a[:]) + uint32(b.n-1)
			if b.nets > 0 {
				last = binary.BigEndian.Uint32(a[:]) + uint32(b.nets-1)*256 + 253
			}
			if last>>24 != 127 {
				return false
			}
		}
	}
	return true
}
