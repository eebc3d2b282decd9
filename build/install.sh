#!/usr/bin/env bash
# Installs (or removes) the edge gateway as a systemd service. Idempotent: run it again to upgrade
# the binary or to repair the layout; an existing config is never overwritten.
#
#   sudo ./install.sh [--binary FILE] [--example FILE] [--no-start]
#   sudo ./install.sh --uninstall [--purge]        (--purge also deletes config, data and the user)
#   ./install.sh --root DIR ...                      (into a throwaway root, e.g. for tests or images;
#                                                     DESTDIR=DIR works too)
set -euo pipefail

SERVICE=edge-gateway
SERVICE_USER=edge-gateway
OPT_DIR=/opt/edge-gateway
CONFIG_DIR=/etc/edge-gateway
DATA_DIR=/var/lib/edge-gateway
UNIT_PATH=/etc/systemd/system/edge-gateway.service
LINK_PATH=/usr/local/bin/edge-gateway

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${DESTDIR:-}"
BINARY=""
EXAMPLE=""
UNIT_SOURCE=""
ACTION=install
PURGE=no
START=yes

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --root=*) ROOT="${1#*=}"; shift ;;
    --binary) BINARY="${2:?--binary needs a file}"; shift 2 ;;
    --example) EXAMPLE="${2:?--example needs a file}"; shift 2 ;;
    --unit) UNIT_SOURCE="${2:?--unit needs a file}"; shift 2 ;;
    --uninstall) ACTION=uninstall; shift ;;
    --purge) PURGE=yes; shift ;;
    --no-start) START=no; shift ;;
    -h|--help) usage 0 ;;
    *) printf 'install.sh: unknown option %s\n\n' "$1" >&2; usage 2 ;;
  esac
done

ROOT="${ROOT%/}"
LIVE=yes   # installing onto the running system (not into a throwaway root)
if [ -n "$ROOT" ]; then
  LIVE=no
  mkdir -p "$ROOT"
  ROOT="$(cd "$ROOT" && pwd)"
  [ "$ROOT" = / ] && { ROOT=""; LIVE=yes; }
fi
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 …)"

systemd_running() { [ "$LIVE" = yes ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

# ---------------------------------------------------------------- the service user
# In a throwaway root the account goes into ROOT/etc/passwd (useradd --prefix), never the host's.
ensure_account_files() {
  [ "$LIVE" = yes ] && return 0
  mkdir -p "$ROOT/etc"
  [ -f "$ROOT/etc/passwd" ] || printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ROOT/etc/passwd"
  [ -f "$ROOT/etc/group" ] || printf 'root:x:0:\ndialout:x:20:\n' >"$ROOT/etc/group"
  [ -f "$ROOT/etc/shadow" ] || { printf 'root:*:19000:0:99999:7:::\n' >"$ROOT/etc/shadow"; chmod 0640 "$ROOT/etc/shadow"; }
  [ -f "$ROOT/etc/gshadow" ] || { printf 'root:*::\ndialout:*::\n' >"$ROOT/etc/gshadow"; chmod 0640 "$ROOT/etc/gshadow"; }
}

user_exists() { grep -q "^${SERVICE_USER}:" "$ROOT/etc/passwd" 2>/dev/null; }

ensure_user() {
  ensure_account_files
  if user_exists; then
    say "user $SERVICE_USER exists"
    return 0
  fi
  local prefix=()
  [ "$LIVE" = no ] && prefix=(--prefix "$ROOT")
  useradd "${prefix[@]}" --system --user-group --no-create-home --home-dir "$DATA_DIR" \
    --shell /usr/sbin/nologin --comment 'edge gateway service' "$SERVICE_USER"
  if grep -q '^dialout:' "$ROOT/etc/group"; then
    usermod "${prefix[@]}" --append --groups dialout "$SERVICE_USER"
  fi
  say "created system user $SERVICE_USER"
}

# Owner by number from ROOT's own account files, so a throwaway root never depends on the host's.
owner_ids() {
  local uid gid
  uid="$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$ROOT/etc/passwd")"
  gid="$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $4 }' "$ROOT/etc/passwd")"
  printf '%s:%s' "$uid" "$gid"
}

# ---------------------------------------------------------------- install
find_binary() {
  if [ -n "$BINARY" ]; then printf '%s' "$BINARY"; return; fi
  local arch
  case "$(uname -m)" in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "no build for CPU $(uname -m); pass --binary FILE" ;;
  esac
  for candidate in "$HERE/edge-gateway-linux-$arch" "$HERE/../dist/edge-gateway-linux-$arch" "./edge-gateway-linux-$arch"; do
    [ -f "$candidate" ] && { printf '%s' "$candidate"; return; }
  done
  die "edge-gateway-linux-$arch not found beside install.sh; pass --binary FILE"
}

find_beside() {
  local given="$1"; shift
  if [ -n "$given" ]; then printf '%s' "$given"; return; fi
  for candidate in "$@"; do
    [ -f "$candidate" ] && { printf '%s' "$candidate"; return; }
  done
  die "none of $* found; pass it explicitly"
}

install_binary() {
  local source="$1" target="$ROOT$OPT_DIR/edge-gateway" owner="$2" guard="$3"
  install -d -m 0755 "$ROOT$OPT_DIR"
  # The service owns its folder: the self-updater writes the new binary and .previous there.
  chown "$owner" "$ROOT$OPT_DIR"
  if [ -f "$target" ] && cmp -s "$source" "$target"; then
    say "binary $OPT_DIR/edge-gateway is already this build"
  else
    if [ -f "$target" ]; then
      ln -f "$target" "$target.previous"
      say "kept the running binary as $OPT_DIR/edge-gateway.previous"
    fi
    install -m 0755 -o "${owner%%:*}" -g "${owner##*:}" "$source" "$target.installing"
    mv -f "$target.installing" "$target"
    # A binary installed by hand is not on trial, and an earlier rollback no longer applies.
    rm -f "$ROOT$OPT_DIR/.edge-gateway.trial" "$ROOT$OPT_DIR/.edge-gateway.rolled-back"
    say "installed $OPT_DIR/edge-gateway"
  fi
  # The unit's ExecStartPre: counts a self-updated binary's starts, puts .previous back (update-guard.sh).
  install -m 0755 "$guard" "$ROOT$OPT_DIR/update-guard"
  install -d -m 0755 "$ROOT$(dirname "$LINK_PATH")"
  ln -sfn "$OPT_DIR/edge-gateway" "$ROOT$LINK_PATH"
}

install_config() {
  local example="$1" owner="$2" config="$ROOT$CONFIG_DIR/config.json"
  install -d -m 0700 -o "${owner%%:*}" -g "${owner##*:}" "$ROOT$CONFIG_DIR"
  if [ -e "$config" ]; then
    say "kept the existing $CONFIG_DIR/config.json"
  else
    install -m 0600 -o "${owner%%:*}" -g "${owner##*:}" "$example" "$config"
    say "created $CONFIG_DIR/config.json from the example: edit it (terminals, platform keys)"
  fi
  # Secrets live in it: whatever happened before, only the service reads it.
  chmod 0600 "$config"
  chown "$owner" "$config"
}

do_install() {
  local binary example unit guard owner
  binary="$(find_binary)"
  guard="$(find_beside "" "$HERE/update-guard.sh")"
  example="$(find_beside "$EXAMPLE" "$HERE/example.json" "$HERE/../config/example.json")"
  unit="$(find_beside "$UNIT_SOURCE" "$HERE/edge-gateway.service")"
  [ -s "$binary" ] || die "$binary is empty or missing"

  ensure_user
  owner="$(owner_ids)"
  install_binary "$binary" "$owner" "$guard"
  install_config "$example" "$owner"
  install -d -m 0700 -o "${owner%%:*}" -g "${owner##*:}" "$ROOT$DATA_DIR"
  chmod 0700 "$ROOT$DATA_DIR"
  install -d -m 0755 "$ROOT$(dirname "$UNIT_PATH")"
  install -m 0644 "$unit" "$ROOT$UNIT_PATH"
  say "installed the unit $UNIT_PATH"

  if [ "$LIVE" = yes ] && ! "$ROOT$OPT_DIR/edge-gateway" check-config "$ROOT$CONFIG_DIR/config.json" >/dev/null 2>&1; then
    say "WARNING: $CONFIG_DIR/config.json does not validate yet; see: edge-gateway check-config $CONFIG_DIR/config.json"
    START=no
  fi

  if systemd_running; then
    systemctl daemon-reload
    systemctl enable "$SERVICE" >/dev/null
    if [ "$START" = yes ]; then
      # restart, not start: a re-run after copying a new binary must run the new one.
      systemctl restart "$SERVICE"
      say "service enabled and (re)started: systemctl status $SERVICE; journalctl -u $SERVICE -f"
    else
      say "service enabled, not started: systemctl start $SERVICE once the config is right"
    fi
  elif command -v systemctl >/dev/null 2>&1 && [ "$LIVE" = no ]; then
    systemctl --root="$ROOT" enable "$SERVICE" >/dev/null 2>&1 &&
      say "service enabled in $ROOT (systemctl --root); it starts when that system boots" ||
      say "systemd is not usable for $ROOT: enable it there with systemctl enable --now $SERVICE"
  else
    say "systemd is not running here (container or chroot?): skipped enable/start;"
    say "  on the box run: systemctl daemon-reload && systemctl enable --now $SERVICE"
  fi
}

# ---------------------------------------------------------------- uninstall
do_uninstall() {
  if systemd_running; then
    systemctl disable --now "$SERVICE" >/dev/null 2>&1 || true
  elif command -v systemctl >/dev/null 2>&1 && [ "$LIVE" = no ]; then
    systemctl --root="$ROOT" disable "$SERVICE" >/dev/null 2>&1 || true
  else
    say "systemd is not running here: skipped stop/disable"
  fi
  rm -f "$ROOT$UNIT_PATH" "$ROOT$LINK_PATH"
  rm -f "$ROOT$OPT_DIR/edge-gateway" "$ROOT$OPT_DIR/edge-gateway.previous" "$ROOT$OPT_DIR"/.edge-gateway.update-* \
    "$ROOT$OPT_DIR/update-guard" "$ROOT$OPT_DIR/.edge-gateway.trial" "$ROOT$OPT_DIR/.edge-gateway.rolled-back"
  rmdir "$ROOT$OPT_DIR" 2>/dev/null || true
  systemd_running && systemctl daemon-reload
  say "removed the service and the binary"
  if [ "$PURGE" = yes ]; then
    rm -rf "$ROOT$CONFIG_DIR" "$ROOT$DATA_DIR"
    if user_exists; then
      local prefix=()
      [ "$LIVE" = no ] && prefix=(--prefix "$ROOT")
      userdel "${prefix[@]}" "$SERVICE_USER" 2>/dev/null || say "could not delete user $SERVICE_USER"
    fi
    say "purged $CONFIG_DIR, $DATA_DIR and the user $SERVICE_USER"
  else
    say "kept $CONFIG_DIR and $DATA_DIR (punch journal, state); --uninstall --purge deletes them"
  fi
}

case "$ACTION" in
  install) do_install ;;
  uninstall) do_uninstall ;;
esac
