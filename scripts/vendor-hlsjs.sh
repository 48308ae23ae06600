#!/usr/bin/env bash
# Refreshes the vendored hls.js that the listener page loads where the browser
# has Media Source Extensions but no native HLS. The files are embedded in the
# binary (go:embed), so running onair needs neither npm nor a build step; only
# this script, run by a maintainer, talks to the npm registry.
#
#   scripts/vendor-hlsjs.sh            # the pinned version below
#   scripts/vendor-hlsjs.sh 1.7.5      # another one (then update HLSJS_VERSION)
#
# The light build is enough: it lacks subtitles, alternate audio renditions,
# EME/DRM, CMCD, content steering and interstitials, none of which onair uses,
# and keeps the fMP4 passthrough remuxer (Opus sample entries included) and
# LL-HLS. Only the trailing sourceMappingURL comment is removed (the map is
# not vendored, so it would be a 404 in devtools).
set -euo pipefail

HLSJS_VERSION="${1:-1.7.4}"
FILE=hls.light.min.js
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/internal/web/static/vendor/hlsjs"

command -v npm >/dev/null || { echo "vendor-hlsjs: npm is required" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "hls.js@$HLSJS_VERSION" >/dev/null)
tgz="$(ls "$tmp"/hls.js-*.tgz)"
tar -xzf "$tgz" -C "$tmp" package/LICENSE "package/dist/$FILE" package/package.json
got="$(node -p 'require(process.argv[1]).version' "$tmp/package/package.json")"
[ "$got" = "$HLSJS_VERSION" ] || { echo "vendor-hlsjs: npm gave $got, wanted $HLSJS_VERSION" >&2; exit 1; }

mkdir -p "$dest"
sed '/^\/\/# sourceMappingURL=/d' "$tmp/package/dist/$FILE" >"$dest/$FILE"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
{
  echo "hls.js $HLSJS_VERSION (https://github.com/video-dev/hls.js), Apache-2.0: see LICENSE"
  echo "source: npm pack hls.js@$HLSJS_VERSION, dist/$FILE (sourceMappingURL comment removed)"
  echo "tarball sha256: $(sha256sum "$tgz" | cut -d' ' -f1)"
  echo "refresh: scripts/vendor-hlsjs.sh [version]"
} >"$dest/VERSION"
echo "vendor-hlsjs: hls.js $HLSJS_VERSION -> ${dest#"$root"/}" >&2
