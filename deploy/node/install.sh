#!/bin/sh
# Installs (or upgrades, or removes) the boxfleet agent and its sing-box on this node, from the
# folder this script was extracted with. Run it again with a newer tarball to upgrade: agent.yaml,
# the token, the TLS key and the traffic ledger are kept, and sing-box keeps serving meanwhile.
# The enrollment string for the hub is the last line it prints.
set -eu

usage() {
  cat <<'USAGE'
usage: sudo ./install.sh [options]
  --prefix DIR         where bin/boxfleet-agent and bin/sing-box go (default /opt/boxfleet)
  --config-dir DIR     agent.yaml, token, TLS key, sing-box config (default /etc/boxfleet)
  --state-dir DIR      plugin state and the traffic ledger (default /var/lib/boxfleet)
  --listen HOST:PORT   where the agent listens for the hub (default 0.0.0.0:7443)
  --address HOST:PORT  the address the hub dials (default: this host's IPv4 and the listen port)
  --no-systemd         install no units; start the agent yourself (sing-box then runs as its child)
  --uninstall          stop and remove the units and binaries; keeps config and ledger
  -h, --help           this text
USAGE
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

HERE=$(cd "$(dirname "$0")" && pwd)
ARCH=@ARCH@
VERSION=@VERSION@
PREFIX=/opt/boxfleet
CONFIG_DIR=/etc/boxfleet
STATE_DIR=/var/lib/boxfleet
LISTEN=0.0.0.0:7443
ADDRESS=
SYSTEMD=1
UNINSTALL=0
UNIT_DIR=/etc/systemd/system
UNITS="boxfleet-agent.service boxfleet-sing-box.service"

while [ $# -gt 0 ]; do
  case $1 in
    --prefix | --config-dir | --state-dir | --listen | --address)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --prefix) PREFIX=$2 ;;
        --config-dir) CONFIG_DIR=$2 ;;
        --state-dir) STATE_DIR=$2 ;;
        --listen) LISTEN=$2 ;;
        --address) ADDRESS=$2 ;;
      esac
      shift 2
      ;;
    --prefix=* | --config-dir=* | --state-dir=* | --listen=* | --address=*)
      value=${1#*=}
      case $1 in
        --prefix=*) PREFIX=$value ;;
        --config-dir=*) CONFIG_DIR=$value ;;
        --state-dir=*) STATE_DIR=$value ;;
        --listen=*) LISTEN=$value ;;
        --address=*) ADDRESS=$value ;;
      esac
      shift
      ;;
    --no-systemd) SYSTEMD=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done

for dir in "$PREFIX" "$CONFIG_DIR" "$STATE_DIR"; do
  case $dir in /*) ;; *) die "$dir: paths must be absolute" ;; esac
done

systemd_running() { command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

# Checks first, so a refusal leaves the machine as it was.
if [ "$SYSTEMD" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "run as root (sudo ./install.sh …): it installs systemd units and writes $PREFIX"
  systemd_running || die "systemd is not running on this machine; pass --no-systemd to install without units and start '$PREFIX/bin/boxfleet-agent --config $CONFIG_DIR/agent.yaml' yourself"
fi

if [ "$UNINSTALL" = 1 ]; then
  if [ "$SYSTEMD" = 1 ]; then
    for unit in $UNITS; do
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
      rm -f "$UNIT_DIR/$unit"
    done
    systemctl daemon-reload
  fi
  rm -f "$PREFIX/bin/boxfleet-agent" "$PREFIX/bin/sing-box"
  rm -rf "$PREFIX/lib/boxfleet-agent" "$PREFIX/share/doc/boxfleet-agent"
  for dir in "$PREFIX/bin" "$PREFIX/lib" "$PREFIX/share/doc" "$PREFIX/share" "$PREFIX"; do
    rmdir "$dir" 2>/dev/null || true
  done
  if [ "$SYSTEMD" = 1 ]; then
    echo "removed the boxfleet agent, sing-box and their units from $PREFIX and $UNIT_DIR"
  else
    echo "removed the boxfleet agent and sing-box from $PREFIX; stop an agent you started yourself (and its sing-box child) by hand"
  fi
  echo "left in place: $CONFIG_DIR (agent.yaml, token, TLS key, sing-box config) and $STATE_DIR (plugin state, the traffic ledger: drain it from the hub first)"
  echo "remove them with: rm -rf '$CONFIG_DIR' '$STATE_DIR'"
  exit 0
fi

case $(uname -m) in
  x86_64 | amd64) machine=amd64 ;;
  aarch64 | arm64) machine=arm64 ;;
  *) machine=$(uname -m) ;;
esac
[ "$machine" = "$ARCH" ] ||
  die "this tarball is for linux-$ARCH but this machine is $(uname -m): use boxfleet-agent-$VERSION-linux-$machine.tar.gz"

(cd "$HERE" && sha256sum -c --quiet --strict FILES.sha256 >/dev/null 2>&1) ||
  die "the files in $HERE do not match FILES.sha256 (a damaged download?): fetch the tarball again and check it against SHA256SUMS"

"$HERE/bin/boxfleet-agent" --version >/dev/null 2>&1 ||
  die "$HERE/bin/boxfleet-agent does not run on this machine (glibc 2.28 or newer is needed)"

AGENT_YAML=$CONFIG_DIR/agent.yaml
fresh=1
[ -f "$AGENT_YAML" ] && fresh=0

# Undo a first install that fails half-way (only what it created); an upgrade keeps what was there.
undo_first_install() {
  rm -f "$PREFIX/bin/boxfleet-agent" "$PREFIX/bin/sing-box"
  rm -rf "$PREFIX/lib/boxfleet-agent" "$PREFIX/share/doc/boxfleet-agent"
  if [ "$config_existed" = 1 ]; then
    (cd "$CONFIG_DIR" && rm -f agent.yaml token agent.key agent.crt)
  else
    rm -rf "$CONFIG_DIR"
  fi
  [ "$state_existed" = 1 ] || rm -rf "$STATE_DIR"
}

if [ "$fresh" = 1 ]; then
  config_existed=0 state_existed=0
  [ -d "$CONFIG_DIR" ] && config_existed=1
  [ -d "$STATE_DIR" ] && state_existed=1
  trap 'status=$?; [ $status -eq 0 ] || undo_first_install' EXIT
  umask 077
  mkdir -p "$STATE_DIR"
  # Fails before writing anything when the listen port is taken.
  set -- init --dir "$CONFIG_DIR" --listen "$LISTEN" --state-dir "$STATE_DIR" \
    --sing-box "$PREFIX/bin/sing-box" --sing-box-config "$CONFIG_DIR/sing-box/config.json"
  [ "$SYSTEMD" = 1 ] && set -- "$@" --sing-box-unit boxfleet-sing-box
  [ -n "$ADDRESS" ] && set -- "$@" --address "$ADDRESS"
  "$HERE/bin/boxfleet-agent" "$@" >/dev/null
  umask 022
fi
chmod 700 "$CONFIG_DIR" "$STATE_DIR"

# Binaries are replaced by rename: a running sing-box keeps the file it started from.
mkdir -p "$PREFIX/bin" "$PREFIX/lib/boxfleet-agent/systemd" "$PREFIX/share/doc/boxfleet-agent"
for name in boxfleet-agent sing-box; do
  cp "$HERE/bin/$name" "$PREFIX/bin/.$name.new"
  chmod 755 "$PREFIX/bin/.$name.new"
  mv -f "$PREFIX/bin/.$name.new" "$PREFIX/bin/$name"
done
cp "$HERE/install.sh" "$PREFIX/lib/boxfleet-agent/install.sh"
cp "$HERE/README.md" "$PREFIX/share/doc/boxfleet-agent/README.md"
for unit in $UNITS; do
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@CONFIG_DIR@|$CONFIG_DIR|g" -e "s|@STATE_DIR@|$STATE_DIR|g" \
    "$HERE/systemd/$unit" >"$PREFIX/lib/boxfleet-agent/systemd/$unit"
done

if [ "$SYSTEMD" = 1 ]; then
  for unit in $UNITS; do
    cp "$PREFIX/lib/boxfleet-agent/systemd/$unit" "$UNIT_DIR/$unit"
  done
  systemctl daemon-reload
  # sing-box starts once the hub has applied a config (the agent starts it); at boot, systemd does.
  systemctl enable boxfleet-sing-box.service >/dev/null 2>&1
  systemctl enable boxfleet-agent.service >/dev/null 2>&1
  systemctl restart boxfleet-agent.service
  echo "boxfleet agent $VERSION running (systemctl status boxfleet-agent; logs: journalctl -u boxfleet-agent)"
elif [ "$fresh" = 1 ]; then
  echo "boxfleet agent $VERSION installed; start it with: $PREFIX/bin/boxfleet-agent --config $AGENT_YAML"
else
  echo "boxfleet agent $VERSION installed; restart the running agent to use it: $PREFIX/bin/boxfleet-agent --config $AGENT_YAML"
fi
trap - EXIT

[ "$fresh" = 1 ] || echo "upgraded: kept $AGENT_YAML, its token and TLS key, and the ledger in $STATE_DIR"
echo "enrollment string for the hub (keep it secret):"
if [ -n "$ADDRESS" ]; then
  "$PREFIX/bin/boxfleet-agent" enrollment --config "$AGENT_YAML" --address "$ADDRESS"
else
  "$PREFIX/bin/boxfleet-agent" enrollment --config "$AGENT_YAML"
fi
