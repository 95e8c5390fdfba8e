#!/usr/bin/env bash
# Builds boxfleet's OpenTelemetry Collector (main.go: the file log receiver and the file exporter,
# every collector module at the one release go.mod pins) statically, cached under
# ~/.cache/boxfleet by a hash of its sources, so a changed go.mod or main.go builds anew. Prints
# the binary's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$here/version.go")
hash=$(cat "$here/go.mod" "$here/go.sum" "$here"/*.go | sha256sum | cut -c1-12)
out="${BOXFLEET_CACHE:-$HOME/.cache/boxfleet}/otelcol-boxfleet-v$version-$hash"

if [[ ! -x $out/otelcol-boxfleet ]]; then
  echo "building otelcol-boxfleet $version…" >&2
  mkdir -p "$out"
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid=" -o "$out/otelcol-boxfleet.tmp" .) >&2
  mv "$out/otelcol-boxfleet.tmp" "$out/otelcol-boxfleet"
fi
echo "$out/otelcol-boxfleet"
