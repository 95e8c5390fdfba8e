#!/usr/bin/env bash
# A real S3 server on loopback for the tests named *.s3.test.ts: versitygw (Apache-2.0) with its
# posix backend, built once from its Go module and cached like sing-box. (MinIO's server is
# AGPL-3.0, which this project does not build on; the hub talks to both through the same minio
# client.) Prints the server URL for BOXFLEET_TEST_S3_URL and leaves the server running; its pid
# is in DIR/versitygw.pid for the caller to stop it.
#   usage: .ci/s3-server.sh DIR   →   s3://ACCESS:SECRET@127.0.0.1:PORT?ssl=false
set -euo pipefail
VERSITYGW_VERSION=1.8.0
BIN_DIR="$HOME/.cache/boxfleet/versitygw-v$VERSITYGW_VERSION"
DIR=${1:?usage: .ci/s3-server.sh DIR}

if ! "$BIN_DIR/versitygw" --version >/dev/null 2>&1; then
  mkdir -p "$BIN_DIR"
  GOBIN="$BIN_DIR" go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION" >&2
fi

mkdir -p "$DIR/root"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
access=boxfleet-test
secret=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
# Credentials through the environment, not argv (which every process can read).
ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" \
  "$BIN_DIR/versitygw" --port "127.0.0.1:$port" --quiet posix "$DIR/root" >"$DIR/versitygw.log" 2>&1 &
echo $! >"$DIR/versitygw.pid"

for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$(cat "$DIR/versitygw.pid")" 2>/dev/null || { echo "versitygw exited:" >&2; cat "$DIR/versitygw.log" >&2; exit 1; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "versitygw did not listen on 127.0.0.1:$port:" >&2; cat "$DIR/versitygw.log" >&2; exit 1; }
echo "s3://$access:$secret@127.0.0.1:$port?ssl=false"
