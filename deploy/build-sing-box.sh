#!/usr/bin/env bash
# Builds sing-box for linux/<arch> from its Go module, at the version and with the build tags
# package.json pins (the plugins need with_v2ray_api, which official releases lack), statically
# (CGO off) so it runs on any distribution. Cached under ~/.cache/boxfleet; prints the binary's path.
set -euo pipefail
arch=${1:?usage: deploy/build-sing-box.sh amd64|arm64}
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$root/package.json').boxfleet.singbox.version")
tags=$(node -p "require('$root/package.json').boxfleet.singbox.tags.join(',')")
out="${BOXFLEET_CACHE:-$HOME/.cache/boxfleet}/sing-box-v$version-linux-$arch"

# `go version -m` reads the build settings from the binary, so tags are checked without running it.
built_with_tags() { go version -m "$1" 2>/dev/null | grep -qE "^[[:space:]]+build[[:space:]]+-tags=$tags\$"; }

if [[ ! -x $out/sing-box ]] || ! built_with_tags "$out/sing-box"; then
  echo "building sing-box $version for linux/$arch (tags $tags)…" >&2
  gopath=$(mktemp -d)
  trap 'chmod -R u+w "$gopath" 2>/dev/null; rm -rf "$gopath"' EXIT
  # go install refuses GOBIN for cross builds; an empty GOPATH of our own says where the binary lands.
  GOMODCACHE=$(go env GOMODCACHE) GOPATH=$gopath GOBIN='' GOOS=linux GOARCH=$arch CGO_ENABLED=0 \
    go install -trimpath -tags "$tags" \
    -ldflags "-s -w -buildid= -X github.com/sagernet/sing-box/constant.Version=$version" \
    "github.com/sagernet/sing-box/cmd/sing-box@v$version" >&2
  bin=$gopath/bin/linux_$arch/sing-box
  [[ -x $bin ]] || bin=$gopath/bin/sing-box
  mkdir -p "$out"
  mv "$bin" "$out/sing-box"
fi
built_with_tags "$out/sing-box" || { echo "sing-box at $out/sing-box was not built with tags $tags" >&2; exit 1; }
echo "$out/sing-box"
