// What an operator pastes on a new machine, and the POSIX sh script it runs (served by
// hub/routes/install.ts): detect the architecture, download the agent tarball from this hub, check
// its SHA-256 against SHA256SUMS, run its install.sh, and send the enrollment string it prints back
// to the hub, which adds the node.
import type { AgentRelease } from './releases.js';

/** The operator replaces <host:port> with the address the hub will dial to reach the new node. */
export const installCommand = (hub: string, token: string) => `curl -fsSL ${hub}/install/${token} | sudo sh -s -- --address <host:port>`;

/** `value` as one sh word, taken literally. */
export const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** A script that only says why the command cannot be used, on standard error, and fails. */
export function refusalScript(reason: string): string {
  return `#!/bin/sh
# boxfleet: this install command cannot be used; the reason is printed below.
printf 'boxfleet: %s\\n' ${shellQuote(reason)} >&2
exit 1
`;
}

export interface InstallScriptOptions {
  hub: string;
  token: string;
  expiresAt: Date;
  release: AgentRelease;
}

export function installScript({ hub, token, expiresAt, release }: InstallScriptOptions): string {
  const available = Object.keys(release.tarballs).join(' ');
  const checksums = Object.entries(release.tarballs)
    .map(([arch, tarball]) => `    ${arch}) SHA256=${shellQuote(tarball.sha256)} ;;`)
    .join('\n');
  return `#!/bin/sh
# boxfleet: installs the agent on this machine and adds it to the hub at ${hub}.
# It works for one node, until ${expiresAt.toISOString()}. Arguments go to the agent's install.sh:
#   [--prefix DIR] [--config-dir DIR] [--listen HOST:PORT] [--address HOST:PORT] [--no-systemd]
set -eu

HUB=${shellQuote(hub)}
INSTALL_URL=${shellQuote(`${hub}/install/${token}`)}
VERSION=${shellQuote(release.version)}
AVAILABLE=${shellQuote(available)}

say() { printf 'boxfleet: %s\\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

# request URL OUT [JSON_FILE]: GET URL, or POST the JSON file to it; the body goes to OUT, also when
# the hub refuses (its JSON says why). Succeeds only on a 2xx answer.
request() {
  STATUS=''
  if [ "$HTTP" = curl ]; then
    if [ $# -eq 3 ]; then
      STATUS=$(curl -sS -o "$2" -w '%{http_code}' -X POST -H 'content-type: application/json' --data-binary "@$3" "$1") || { STATUS=''; return 1; }
    else
      STATUS=$(curl -sSL -o "$2" -w '%{http_code}' "$1") || { STATUS=''; return 1; }
    fi
    case "$STATUS" in 2??) return 0 ;; *) return 1 ;; esac
  fi
  if [ $# -eq 3 ]; then
    wget -q $WGET_BODY -O "$2" --header 'content-type: application/json' --post-file "$3" "$1"
  else
    wget -q $WGET_BODY -O "$2" "$1"
  fi
}

# Why the hub refused: the message of its JSON answer, else its HTTP status.
hub_says() {
  MESSAGE=$(sed -n 's/^{.*"message":"\\(.*\\)"}$/\\1/p' "$1" 2>/dev/null || true)
  if [ -n "$MESSAGE" ]; then
    printf '%s' "$MESSAGE"
  elif [ -n "$STATUS" ]; then
    printf 'the hub answered HTTP %s' "$STATUS"
  else
    printf 'no readable answer from %s' "$HUB"
  fi
}

main() {
  case "$(uname -m)" in
    x86_64 | amd64) ARCH=amd64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) fail "this machine is $(uname -m); boxfleet agents are built for x86_64 (amd64) and aarch64 (arm64) only" ;;
  esac
  case "$ARCH" in
${checksums}
    *) fail "the hub has no boxfleet-agent $VERSION tarball for linux-$ARCH (it has: $AVAILABLE); copy boxfleet-agent-$VERSION-linux-$ARCH.tar.gz and SHA256SUMS into the hub's release folder, then run the command again" ;;
  esac

  for TOOL in tar sha256sum mktemp; do
    command -v "$TOOL" >/dev/null 2>&1 || fail "$TOOL is missing on this machine; install it, then run the command again"
  done
  WGET_BODY=''
  if command -v curl >/dev/null 2>&1; then
    HTTP=curl
  elif command -v wget >/dev/null 2>&1; then
    HTTP=wget
    # GNU wget keeps a refusal's body with this; BusyBox wget does not know it.
    if wget --help 2>&1 | grep -q -- '--content-on-error'; then WGET_BODY='--content-on-error'; fi
  else
    fail "neither curl nor wget is installed; install one, then run the command again"
  fi

  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  trap 'exit 1' HUP INT TERM

  say "downloading boxfleet-agent $VERSION for linux-$ARCH from $HUB"
  request "$INSTALL_URL/agent-linux-$ARCH.tar.gz" "$TMP/agent.tar.gz" || fail "could not download the agent: $(hub_says "$TMP/agent.tar.gz")"
  ACTUAL=$(sha256sum "$TMP/agent.tar.gz" | cut -d ' ' -f 1)
  [ "$ACTUAL" = "$SHA256" ] || fail "checksum mismatch: the downloaded agent tarball's SHA-256 is $ACTUAL, but the hub's SHA256SUMS says $SHA256; it was changed or damaged, so nothing was installed"

  mkdir "$TMP/agent"
  tar -xzf "$TMP/agent.tar.gz" -C "$TMP/agent" || fail "could not unpack the agent tarball"
  TOP="$TMP/agent/boxfleet-agent-$VERSION-linux-$ARCH"
  [ -f "$TOP/install.sh" ] || fail "the agent tarball has no boxfleet-agent-$VERSION-linux-$ARCH/install.sh"

  # install.sh prints the node's enrollment string as its last line; the operator sees all it prints.
  # Its standard input is not this script (which sh may still be reading from the pipe).
  { if "$TOP/install.sh" "$@" </dev/null; then CODE=0; else CODE=$?; fi; echo "$CODE" >"$TMP/install.status"; } | tee "$TMP/install.out"
  CODE=$(cat "$TMP/install.status")
  if [ "$CODE" = 126 ]; then
    fail "could not run install.sh from $TMP: is that folder mounted noexec? Use another one: ... | sudo env TMPDIR=/root sh -s -- ..."
  fi
  [ "$CODE" = 0 ] || fail "install.sh failed (exit status $CODE); see its message above. The install command is still unused: fix the cause, then run it again"

  ENROLLMENT=$(tail -n 1 "$TMP/install.out" | tr -d '\\r')
  # It goes into JSON as it is, so only the characters an enrollment string has may pass: no quote,
  # backslash or control character.
  printf '%s\\n' "$ENROLLMENT" | grep -Eq '^boxfleet://[]A-Za-z0-9.:_~%/?&=+[@-]+$' ||
    fail "the last line install.sh printed is not an enrollment string (boxfleet://...): $ENROLLMENT"
  printf '{"enrollment":"%s"}\\n' "$ENROLLMENT" >"$TMP/register.json"

  say "adding this node to the hub"
  # A freshly started agent takes a moment to listen, and one installed with --no-systemd waits for
  # the operator to start it: while the hub cannot reach it yet, ask again (every 2 s, for
  # BOXFLEET_REGISTER_WAIT_S seconds, default 60).
  WAIT_S=\${BOXFLEET_REGISTER_WAIT_S:-60}
  case "$WAIT_S" in '' | *[!0-9]*) fail "BOXFLEET_REGISTER_WAIT_S must be a number of seconds, not $WAIT_S" ;; esac
  WAITED=0
  until request "$INSTALL_URL/register" "$TMP/register.out" "$TMP/register.json"; do
    grep -Eq '"code":"HUB_ERR_AGENT_(UNREACHABLE|TIMEOUT)"' "$TMP/register.out" 2>/dev/null && [ "$WAITED" -lt "$WAIT_S" ] ||
      fail "the hub could not add this node: $(hub_says "$TMP/register.out")"
    [ "$WAITED" -gt 0 ] || say "the hub cannot reach the agent yet ($(hub_says "$TMP/register.out")); asking again for up to $WAIT_S s (installed with --no-systemd? start the agent now)"
    WAITED=$((WAITED + 2))
    sleep 2
  done
  ADDED=$(sed -n 's/^{"node":{"id":"\\([^"]*\\)","name":"\\(.*\\)","address":"\\([^"]*\\)"}}$/node \\1 (\\2), which the hub reaches at \\3/p' "$TMP/register.out")
  printf 'boxfleet: added to the hub as %s\\n' "\${ADDED:-$(cat "$TMP/register.out")}"
}

# Called only once the whole script has arrived: a download cut short runs nothing.
main "$@"
`;
}
