#!/usr/bin/env bash
# The dev loop in one command: LocalStack, the table/queues/bucket (`siftgram migrate`), the Mini
# App uploaded, every function served locally (`siftgram-dev`: the API Gateway stand-in for bot and
# api, the SQS event-source bridge for indexer and worker, the scheduler, the Qdrant stand-in the
# functions reach their index through), and the session node on the same queues.
#
#   localstack/dev.sh up       start everything (builds first); prints the addresses
#   localstack/dev.sh status   what is running
#   localstack/dev.sh down     stop the functions and the node (LocalStack keeps running;
#                              `localstack/localstack.sh stop` stops it)
#
# Without TELEGRAM_BOT_TOKEN the fake Bot API stands in for Telegram (served by siftgram-dev) and
# the session node's Telegram is the demo's recorded sample; with a token and
# SIFTGRAM_TELEGRAM=grammers (+ app credentials) it is the real thing. Logs: target/dev/*.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN=$ROOT/target/dev
mkdir -p "$RUN"
export AWS_ENDPOINT_URL=${AWS_ENDPOINT_URL:-http://127.0.0.1:${LS_PORT:-4566}} AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export SIFTGRAM_BACKEND=aws SIFTGRAM_TABLE=${SIFTGRAM_TABLE:-siftgram-dev} SIFTGRAM_RESOURCE_PREFIX=${SIFTGRAM_RESOURCE_PREFIX:-siftgram-dev-}
GATEWAY=${SIFTGRAM_DEV_GATEWAY_ADDR:-127.0.0.1:9080}
FAKE=${SIFTGRAM_DEV_FAKE_TELEGRAM_ADDR:-127.0.0.1:9081}
NODE=${SIFTGRAM_DEV_NODE_ADDR:-127.0.0.1:9082}
QDRANT=${SIFTGRAM_DEV_QDRANT_ADDR:-127.0.0.1:9083}
BIN=${SIFTGRAM_DEV_BIN_DIR:-$ROOT/target/debug}
FAKE_TOKEN=7000000001:AAFakeTokenForSiftgramTests_0123456789   # siftgram_fake_telegram::FakeTelegram::TOKEN

log() { echo "[dev] $*"; }
alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
wait_http() { # url, what
  for _ in $(seq 1 240); do curl -s -o /dev/null "$1" && return 0; sleep 0.5; done
  log "$2 did not come up; see $RUN/*.log"; exit 1
}

up() {
  bash "$ROOT/localstack/localstack.sh" start
  if [[ -z ${SIFTGRAM_DEV_SKIP_BUILD:-} ]]; then
    log "building siftgram and siftgram-dev"
    (cd "$ROOT" && cargo build -q -p siftgram-session-node -p siftgram-devloop)
  fi
  "$BIN/siftgram" migrate --backend aws
  "$BIN/siftgram" miniapp upload --api-base "http://$GATEWAY"
  if alive functions; then log "functions already running"; else
    SIFTGRAM_DEV_GATEWAY_ADDR=$GATEWAY SIFTGRAM_DEV_FAKE_TELEGRAM_ADDR=$FAKE SIFTGRAM_DEV_QDRANT_ADDR=$QDRANT SIFTGRAM_DEV_INDEX_DIR=$RUN/index \
      nohup "$BIN/siftgram-dev" >"$RUN/functions.log" 2>&1 &
    echo $! >"$RUN/functions.pid"
    wait_http "http://$GATEWAY/" "the functions (API Gateway stand-in)"
  fi
  if alive node; then log "session node already running"; else
    local token=${TELEGRAM_BOT_TOKEN:-$FAKE_TOKEN} api=${TELEGRAM_API_URL:-}
    [[ -z ${TELEGRAM_BOT_TOKEN:-} ]] && api=http://$FAKE/
    TELEGRAM_BOT_TOKEN=$token TELEGRAM_API_URL=$api SIFTGRAM_HTTP_ADDR=$NODE SIFTGRAM_DATA_DIR=$RUN/node \
      SIFTGRAM_TELEGRAM=${SIFTGRAM_TELEGRAM:-recorded:$ROOT/crates/demo/sample/result.json} \
      nohup "$BIN/siftgram" run >"$RUN/node.log" 2>&1 &
    echo $! >"$RUN/node.pid"
    wait_http "http://$NODE/health" "the session node"
  fi
  status
}

status() {
  local ok=0
  for part in functions node; do
    if alive "$part"; then log "$part: running (pid $(cat "$RUN/$part.pid"))"; else log "$part: not running"; ok=1; fi
  done
  log "webhook: http://$GATEWAY/telegram   API: http://$GATEWAY/api/   node: http://$NODE/health (token: $RUN/node/ops-token)   Qdrant (gRPC stand-in): http://$QDRANT"
  [[ -z ${TELEGRAM_BOT_TOKEN:-} ]] && log "fake Bot API: http://$FAKE/ (token $FAKE_TOKEN)"
  return $ok
}

down() {
  for part in node functions; do
    if alive "$part"; then
      kill -INT "$(cat "$RUN/$part.pid")"
      for _ in $(seq 1 40); do alive "$part" || break; sleep 0.25; done
      log "$part stopped"
    fi
    rm -f "$RUN/$part.pid"
  done
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|status|down" >&2; exit 2 ;;
esac
