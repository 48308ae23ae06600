package hls

import (
	"strings"
	"testing"
)

// variants reads back a multivariant playlist: each EXT-X-STREAM-INF's
// attributes and the URI line after it.
func variants(t *testing.T, pl []byte) (tags, uris []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(pl), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "#EXTM3U" {
		t.Fatalf("not a playlist:\n%s", pl)
	}
	for i := 1; i < len(lines); i++ {
		tag, ok := strings.CutPrefix(lines[i], "#EXT-X-STREAM-INF:")
		if !ok {
			continue
		}
		if i+1 >= len(lines) || strings.HasPrefix(lines[i+1], "#") {
			t.Fatalf("EXT-X-STREAM-INF without a URI line:\n%s", pl)
		}
		tags, uris = append(tags, tag), append(uris, lines[i+1])
		i++
	}
	return tags, uris
}

func TestMultivariantListsRedundantVariants(t *testing.T) {
	in := []string{"http://a:1/hls/x/index.m3u8?t=T", "http://b:2/hls/x/index.m3u8?t=T"}
	bw := Config{}.ProgramBandwidth(48000)
	pl, err := Multivariant(bw, in)
	if err != nil {
		t.Fatal(err)
	}
	tags, uris := variants(t, pl)
	if strings.Join(uris, " ") != strings.Join(in, " ") {
		t.Fatalf("URIs %q, want %q in order", uris, in)
	}
	// Redundant: the same tag for every path, so players see one stream.
	if tags[0] != tags[1] || !strings.Contains(tags[0], "BANDWIDTH=") || !strings.Contains(tags[0], `CODECS="opus"`) {
		t.Fatalf("tags %q", tags)
	}
	if bw < 60000 || bw > 80000 {
		t.Fatalf("bandwidth of a 48 kb/s program: %d", bw)
	}
}

func TestMultivariantRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		bw   int
		uris []string
	}{
		{0, []string{"a.m3u8"}},
		{1, nil},
		{1, []string{""}},
		{1, []string{"#EXT-X-ENDLIST"}},
		{1, []string{"a.m3u8\n#EXT-X-ENDLIST"}},
		{1, []string{"ok.m3u8", " spaced.m3u8"}},
		{1, []string{"a\x00.m3u8"}},
	} {
		if pl, err := Multivariant(c.bw, c.uris); err == nil {
			t.Errorf("Multivariant(%d, %q) = %q, want an error", c.bw, c.uris, pl)
		}
	}
}

// FuzzMultivariant: whatever the URIs, the playlist is refused or lists
// exactly them, in order, one variant each.
func FuzzMultivariant(f *testing.F) {
	f.Add("http://a/hls/x/index.m3u8?t=1", "http://b/hls/x/index.m3u8?t=1")
	f.Add("a\r\n#EXT-X-ENDLIST", "b")
	f.Add("", "#x")
	f.Fuzz(func(t *testing.T, a, b string) {
		pl, err := Multivariant(70000, []string{a, b})
		if err != nil {
			return
		}
		_, uris := variants(t, pl)
		if len(uris) != 2 || uris[0] != a || uris[1] != b {
			t.Fatalf("URIs %q from %q, %q:\n%s", uris, a, b, pl)
		}
	})
}
