#!/usr/bin/env bash
# Installs drydock on this machine (a KVM host, a coordinator host, or both):
#
#   sudo deploy/install.sh [--dry-run] [--role agent|coordinator|all] [--prefix /opt/drydock]
#
# 1. copies the runtime tree (package files, agent/, coordinator/, cli/,
#    common/, proto/, bin/, deploy/, docs/) into <prefix>.new and runs
#    `npm ci --omit=dev` there;
# 2. swaps it into place: the running tree becomes <prefix>.previous (for a
#    rollback), so a failed npm ci never leaves a half-installed <prefix>;
# 3. creates the `drydock` system user (the coordinator runs as it; the agent
#    runs as root for libvirt and the reboot);
# 4. installs the systemd units (always: they are drydock's; local changes
#    belong in drop-ins, `systemctl edit drydock-agent`) and the example
#    configs into /etc/drydock, never overwriting an existing file;
# 5. systemctl daemon-reload. It enables and starts nothing: edit the configs
#    first (docs/production.md), then `systemctl enable --now drydock-agent`.
#
# --dry-run prints every command instead of running it (no root needed).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/drydock
ROLE=all
DRY=0
# Overridable for packaging and tests; the units read /etc/drydock.
ETC=${DRYDOCK_ETC_DIR:-/etc/drydock}
UNIT_DIR=${SYSTEMD_UNIT_DIR:-/etc/systemd/system}
MIN_NODE=20.8.0

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --role) ROLE=${2:?--role needs agent, coordinator or all}; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$ROLE" in agent|coordinator|all) ;; *) echo "install.sh: --role must be agent, coordinator or all" >&2; exit 2 ;; esac
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac

# Runs a command, or prints it (shell-quoted, so it can be pasted) with --dry-run.
run() {
  if [ "$DRY" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}
say() { printf '%s\n' "$*"; }

if [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (or try --dry-run)" >&2
  exit 1
fi

# Node: the units run `node` from systemd's fixed search path (/usr/local/bin, /usr/bin, ...).
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
  echo "install.sh: node not found; install Node.js >= $MIN_NODE (e.g. the NodeSource packages)" >&2
  [ "$DRY" = 1 ] || exit 1
else
  NODE_VERSION=$("$NODE" -p 'process.versions.node')
  if ! "$NODE" -e "const [a,b]=process.versions.node.split('.').map(Number); const [x,y]='$MIN_NODE'.split('.').map(Number); process.exit(a>x||(a===x&&b>=y)?0:1)"; then
    echo "install.sh: node $NODE_VERSION at $NODE is older than $MIN_NODE" >&2
    [ "$DRY" = 1 ] || exit 1
  fi
  say "node $NODE_VERSION ($NODE)"
fi

# ---- 1. the runtime tree, staged next to the installed one
STAGE="$PREFIX.new"
say "installing $SRC into $PREFIX (role: $ROLE)"
# A failure before the swap leaves the installed tree as it was, and no stage behind.
if [ "$DRY" = 0 ]; then
  trap 'if [ -d "$STAGE" ]; then rm -rf "$STAGE"; echo "install.sh: failed; $PREFIX unchanged" >&2; fi' EXIT
fi
run rm -rf "$STAGE"
run mkdir -p "$STAGE"
for item in package.json package-lock.json tsconfig.json README.md agent bin cli common coordinator proto deploy docs; do
  if [ -e "$SRC/$item" ]; then
    run cp -a "$SRC/$item" "$STAGE/"
  fi
done
# Not copied: harness/ (the sim hypervisor, sim and lab agents), scripts/,
# test/ and bench/ never run in production; the agent refuses `hypervisor: sim`
# in a tree without harness/.
# tsx (a runtime dependency) runs the TypeScript sources: no build step.
run npm ci --omit=dev --no-audit --no-fund --prefix "$STAGE"

# ---- 2. swap
if [ -d "$PREFIX" ]; then
  run rm -rf "$PREFIX.previous"
  run mv "$PREFIX" "$PREFIX.previous"
fi
run mv "$STAGE" "$PREFIX"
trap - EXIT
run chown -R root:root "$PREFIX"

# ---- 3. the coordinator's user
if [ "$ROLE" != agent ]; then
  if ! getent passwd drydock >/dev/null 2>&1; then
    run useradd --system --user-group --home-dir /var/lib/drydock --no-create-home --shell /usr/sbin/nologin --comment "drydock coordinator" drydock
  else
    say "user drydock exists"
  fi
fi

# ---- 4. units and configs
units=()
configs=()
case "$ROLE" in
  agent) units=(drydock-agent.service); configs=(agent.yaml) ;;
  coordinator) units=(drydock-coordinator.service); configs=(coordinator.yaml users.yaml) ;;
  all) units=(drydock-agent.service drydock-coordinator.service); configs=(agent.yaml coordinator.yaml users.yaml) ;;
esac
run install -d -m 0755 "$UNIT_DIR"
for u in "${units[@]}"; do
  run install -m 0644 "$SRC/deploy/systemd/$u" "$UNIT_DIR/$u"
done
run install -d -m 0755 "$ETC"
run install -d -m 0750 "$ETC/tls"
# Configs and secrets: readable by root and the coordinator's group only.
group=root
if [ "$ROLE" != agent ]; then group=drydock; fi
for c in "${configs[@]}"; do
  if [ -e "$ETC/$c" ]; then
    say "kept $ETC/$c (the current example is $PREFIX/deploy/examples/$c)"
  else
    run install -m 0640 -o root -g "$group" "$SRC/deploy/examples/$c" "$ETC/$c"
  fi
done
if [ "$ROLE" != agent ]; then run chgrp drydock "$ETC/tls"; fi

# ---- 5. systemd
if [ -d /run/systemd/system ] || [ "$DRY" = 1 ]; then
  run systemctl daemon-reload
else
  say "systemd is not running here: skipped daemon-reload"
fi

say ""
say "Next (docs/production.md):"
say "  edit ${configs[*]/#/$ETC/} (TLS files go in $ETC/tls)"
[ "$ROLE" != coordinator ] && say "  KVM hosts:    systemctl enable --now drydock-agent"
[ "$ROLE" != agent ] && say "  coordinators: systemctl enable --now drydock-coordinator"
say "  upgrades: run this script again, then systemctl restart the units; $PREFIX.previous is the rollback"
exit 0
