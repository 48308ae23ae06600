#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build (and, with "test", to
# test) onair. Idempotent and quiet when everything is there.
set -euo pipefail

need=(gcc pkg-config libopus-dev libopusfile-dev libvorbis-dev libmpg123-dev libsoxr-dev)
case "${1:-build}" in
  # third-party clients and players, encoders, the CDN stand-in, promtool,
  # a NATS server nobody here embedded (Debian's nats-server)
  test) need+=(ffmpeg nginx-light chromium liquidsoap ices2 prometheus vlc-bin vlc-plugin-base
               gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good nats-server) ;;
  build) ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The tests run their own nats-server processes; the package's service
  # would hold 127.0.0.1:4222 (--nats embedded's default) for nobody.
  if [[ " ${missing[*]} " == *" nats-server "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now nats-server.service >/dev/null 2>&1 || true
  fi
fi

# VLC will not run as root: tests run as root start it as this user.
if [ "${1:-build}" = test ] && [ "$(id -u)" -eq 0 ] && ! id onair-player >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin onair-player
fi

if ! command -v go >/dev/null 2>&1; then
  for g in /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -x "$g" ] && { echo "deps: go is at $g; add $(dirname "$g") to PATH" >&2; exit 1; }
  done
  echo "deps: Go 1.26 or newer is required (https://go.dev/dl/)" >&2
  exit 1
fi
