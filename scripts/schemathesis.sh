#!/usr/bin/env bash
# Installs schemathesis (pinned, from PyPI) into a cached venv and prints the path of its
# command; the API fuzz test (tests/tests/api_fuzz.rs) runs it against the standalone node.
set -euo pipefail
VERSION=4.32.5
HOME_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/siftgram-schemathesis
VENV=$HOME_DIR/venv
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
stamp=$VENV/.siftgram-installed-$VERSION
if [[ ! -f $stamp ]]; then
  echo "[schemathesis] installing schemathesis $VERSION into $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$HOME_DIR"
  "$PY" -m venv "$VENV"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q "schemathesis==$VERSION" >&2
  "$VENV/bin/schemathesis" --version >&2
  touch "$stamp"
fi
echo "$VENV/bin/schemathesis"
