#!/usr/bin/env bash
# Builds Toxiproxy (the fault tests' latency, bandwidth and stall proxy on the hub → agent path)
# from its Go module at the version package.json pins, statically, for this machine. Cached under
# ~/.cache/boxfleet; prints the server binary's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$root/package.json').boxfleet.toxiproxy.version")
out="${BOXFLEET_CACHE:-$HOME/.cache/boxfleet}/toxiproxy-v$version"

if ! "$out/toxiproxy-server" --version 2>/dev/null | grep -q "$version"; then
  echo "building toxiproxy $version…" >&2
  mkdir -p "$out"
  GOBIN="$out" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=$version" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@v$version" >&2
  mv "$out/server" "$out/toxiproxy-server"
fi
echo "$out/toxiproxy-server"
