#!/usr/bin/env bash
# Prints the path of promtool (for checking infra/observability/alerts.yml), taken out of
# Debian's prometheus package into a cache — only the one binary, nothing installed or started.
set -euo pipefail
DIR=${XDG_CACHE_HOME:-$HOME/.cache}/siftgram-promtool
if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
if [[ ! -x $DIR/usr/bin/promtool ]]; then
  echo "[promtool] extracting promtool from Debian's prometheus package into $DIR" >&2
  mkdir -p "$DIR/deb"
  ( cd "$DIR/deb" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null 2>&1; }; } )
  dpkg-deb -x "$DIR"/deb/prometheus_*.deb "$DIR"
  rm -rf "$DIR/deb"
fi
echo "$DIR/usr/bin/promtool"
