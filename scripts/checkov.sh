#!/usr/bin/env bash
# Prints the path of checkov (the static IaC scanner, from PyPI), installing it into a cached venv
# the first time (~1 min, ~300 MB). `tests/tests/terraform.rs` scans terraform/ with it.
set -euo pipefail
VERSION=3.3.30
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/siftgram-checkov/venv
if [[ ! -x $VENV/bin/checkov ]] || [[ $("$VENV/bin/checkov" --version 2>/dev/null) != "$VERSION" ]]; then
  echo "[checkov] installing checkov $VERSION into $VENV" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check "checkov==$VERSION" >&2
fi
echo "$VENV/bin/checkov"
