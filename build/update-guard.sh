#!/bin/sh
# ExecStartPre of edge-gateway.service (installed as /opt/edge-gateway/update-guard):
#
#   update-guard BINARY
#
# After a self-update the new binary is on trial: the updater wrote BINARY's trial file
# (.<name>.trial beside it) before the swap, and the new version deletes it once it is healthy.
# This counts the starts of a version on trial. When it has had maxStarts starts without confirming,
# it renames BINARY.previous over BINARY and leaves a note (.<name>.rolled-back) that the restored
# version reports as an alert naming both versions. It is a shell script, not the binary, because a
# binary that crashes before it runs any code (SIGSEGV, truncated) cannot count its own starts.
# It always exits 0: whatever happens here, the service starts.
BIN="${1:-/opt/edge-gateway/edge-gateway}"
DIR=$(dirname "$BIN")
NAME=$(basename "$BIN")
TRIAL="$DIR/.$NAME.trial"
NOTE="$DIR/.$NAME.rolled-back"
PREVIOUS="$BIN.previous"

say() { printf 'update-guard: %s\n' "$*" >&2; }

[ -f "$TRIAL" ] || exit 0

field() { sed -n "s/^$1=//p" "$TRIAL" | head -n 1; }
number() { case "$1" in '' | *[!0-9]*) printf '%s' "$2" ;; *) printf '%s' "$1" ;; esac; }

from=$(field from)
to=$(field to)
sha=$(field sha256)
max=$(number "$(field maxStarts)" 3)
starts=$(($(number "$(field starts)" 0) + 1))

if [ "$starts" -le "$max" ]; then
  # Rewritten whole, then renamed: a power cut leaves the old count or the new one.
  tmp="$TRIAL.$$"
  if { grep -v '^starts=' "$TRIAL"; printf 'starts=%s\n' "$starts"; } >"$tmp" && mv -f "$tmp" "$TRIAL"; then
    say "$to is on trial: start $starts of $max (then $from is put back unless $to confirms itself healthy)"
  else
    rm -f "$tmp"
    say "cannot count the start of $to in $TRIAL"
  fi
  exit 0
fi

if [ ! -f "$PREVIOUS" ]; then
  say "$to did not confirm healthy in $max starts, and there is no $PREVIOUS to put back"
  rm -f "$TRIAL"
  exit 0
fi

# The note first: if the power fails between the steps, the restored version still reports why.
tmp="$NOTE.$$"
printf 'rejected=%s\nrejectedSha256=%s\nrestored=%s\nstarts=%s\nat=%s\n' \
  "$to" "$sha" "$from" "$max" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp" && mv -f "$tmp" "$NOTE"
if mv -f "$PREVIOUS" "$BIN"; then
  rm -f "$TRIAL"
  sync "$DIR" 2>/dev/null || sync
  say "ROLLED BACK: $to did not confirm healthy in $max starts; $from is back in $BIN"
else
  say "$to did not confirm healthy in $max starts, but $PREVIOUS could not be put back"
fi
exit 0
