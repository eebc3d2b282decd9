#!/usr/bin/env bash
# The Debian packages the test suite drives as real peers and the build needs: the one list.
# `npm test` runs this first (the "pretest" script) and .ci/run calls it on a clean machine.
# All installed: one dpkg-query, exit 0. Some missing: apt-get installs them when this runs as root
# or with password-less sudo; otherwise one line names the command to run, and the exit is 1.
# Bash builtins plus dpkg-query, id, sudo and apt-get only: it runs before `npm ci`.
set -u

# mosquitto (MQTT broker), socat (RS-485 pty pairs), openssl (SM4 cross-check), chromium and a CJK
# font (the site manager's page, readable screenshots); for the packaged binaries: binutils and
# binutils-aarch64-linux-gnu (strip x64 and arm64), qemu-user with the arm64 C libraries (run the
# arm64 binary), g++-aarch64-linux-gnu (cross-builds the query store's SQLite addon, better-sqlite3,
# for arm64; docs/query-store.md), and systemd (systemd-analyze checks the unit file).
PACKAGES=(
  mosquitto socat openssl chromium fonts-wqy-microhei
  binutils binutils-aarch64-linux-gnu qemu-user libc6-arm64-cross libstdc++6-arm64-cross systemd
  g++-aarch64-linux-gnu
)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

# Prints the packages of the list that are not installed, space-separated.
missing_packages() {
  local -A installed=()
  local name status
  # One process for the whole list; an unknown package prints nothing here (and an error we drop).
  while read -r name status; do
    # The second letter is the state: "ii" installed, "hi" installed on hold, "rc" removed (config left).
    [ "${status:1:1}" = i ] && installed[$name]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null)
  local missing=()
  for name in "${PACKAGES[@]}"; do
    [ -n "${installed[$name]:-}" ] || missing+=("$name")
  done
  printf '%s' "${missing[*]}"
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "prerequisites: not a Debian system (no dpkg-query); install the equivalents of: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=$(missing_packages)
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "prerequisites: missing Debian packages: $missing; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing" >&2
  exit 1
fi

echo "prerequisites: installing $missing with apt-get" >&2
# shellcheck disable=SC2086 # $missing is a list of package names, split on purpose.
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
  ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; then
  echo "prerequisites: apt-get could not install $missing (see above)" >&2
  exit 1
fi

still=$(missing_packages)
if [ -n "$still" ]; then
  echo "prerequisites: still missing after apt-get: $still" >&2
  exit 1
fi
