#!/usr/bin/env bash
# Builds the Lambda packages for provided.al2023: `cargo lambda build --release` per function
# (cross-linked with zig from PyPI, so the binaries need no newer glibc than the runtime has),
# into target/lambda/zips/<function>.zip where terraform/ expects them, and prints their sizes and
# their cold init times (LocalStack up).
#
#   bash scripts/package-lambdas.sh                    all five, x86_64
#   bash scripts/package-lambdas.sh --arm64 bot api    some, for Graviton
#
# cargo-lambda and ziglang are installed into a cached venv the first time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/siftgram-cargo-lambda/venv
if [[ ! -x $VENV/bin/cargo-lambda ]]; then
  echo "[package] installing cargo-lambda 1.9.2 and ziglang 0.17.1 into $VENV" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check cargo-lambda==1.9.2 ziglang==0.17.1 >&2
fi
export PATH=$VENV/bin:$PATH
arch=()
functions=()
for arg in "$@"; do
  case $arg in
    --arm64) arch=(--arm64) ;;
    --x86-64) arch=(--x86-64) ;;
    api | bot | indexer | worker | scheduler) functions+=("$arg") ;;
    *) echo "usage: $0 [--arm64|--x86-64] [api bot indexer worker scheduler]" >&2; exit 2 ;;
  esac
done
[[ ${#functions[@]} -gt 0 ]] || functions=(api bot indexer worker scheduler)
if [[ ${arch[*]-} == --arm64 ]] && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "[package] adding the Rust target aarch64-unknown-linux-gnu" >&2
  rustup target add aarch64-unknown-linux-gnu >&2
fi
mkdir -p target/lambda/zips
for f in "${functions[@]}"; do
  echo "[package] $f" >&2
  cargo lambda build --release "${arch[@]}" -p "siftgram-fn-$f" --output-format zip >&2
  cp "target/lambda/$f/bootstrap.zip" "target/lambda/zips/$f.zip"
done
for f in "${functions[@]}"; do
  awk -v f="$f" -v b="$(stat -c %s "target/lambda/zips/$f.zip")" 'BEGIN { printf "%-10s %8.1f MB  target/lambda/zips/%s.zip\n", f, b / 1048576, f }' 
done
# Each package's cold init, measured as Lambda starts it (siftgram-dev cold-start: the zip's
# bootstrap against a Runtime API stand-in, LocalStack and the dev loop's stand-ins), for builds
# this machine can run.
if [[ ${arch[*]-} == --arm64 && $(uname -m) != aarch64 ]]; then
  echo "[package] arm64 packages cannot start on $(uname -m): no cold-start figures" >&2
elif curl -s -o /dev/null "${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}/_localstack/health"; then
  # SIFTGRAM_DEV_BIN: a siftgram-dev already built (the test build makes one; building it alone
  # would compile much of the tree again with other features).
  dev_bin=${SIFTGRAM_DEV_BIN:-}
  if [[ -z $dev_bin ]]; then
    cargo build -q -p siftgram-devloop >&2
    dev_bin=target/debug/siftgram-dev
  fi
  "$dev_bin" cold-start target/lambda/zips 5 "${functions[@]}"
else
  echo "[package] LocalStack is not up: no cold-start figures (bash localstack/localstack.sh start, then run this again)" >&2
fi
