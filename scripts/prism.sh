#!/usr/bin/env bash
# Stoplight Prism, pinned in tools/prism (package.json + package-lock.json),
# serves a mock of Meta's Cloud API from its own OpenAPI file and refuses
# requests that do not match it (tests/e2e/test_prism.py).
#
#   scripts/prism.sh install       npm ci into tools/prism/node_modules, only when it
#                                  is missing or older than the lock file; quiet
#   scripts/prism.sh spec          prints the Cloud API OpenAPI file's path; exits 1 if none
#   scripts/prism.sh mock PORT [SPEC]
#                                  installs if needed, starts `prism mock --errors` on
#                                  127.0.0.1:PORT, waits until it listens (PRISM_START_TIMEOUT
#                                  seconds, default 60), says so on stderr, and stays in the
#                                  foreground with it; SIGTERM/SIGINT stop both
#
# The spec is shared/reference/whatsapp-cloud-api-v23.0.openapi.yaml beside the
# repository ($repo/../shared), else /work/shared. Only the npm registry is used.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$here/tools/prism"
mods="$dir/node_modules"
bin="$mods/.bin/prism"
SPEC_NAME="whatsapp-cloud-api-v23.0.openapi.yaml"

die() {
  echo "prism: $*" >&2
  exit 1
}

need_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "node and npm are needed (Debian: apt-get install nodejs npm; \`make deps\` does it)"
  fi
}

# npm ci writes node_modules/.package-lock.json last: its absence means no
# install or an interrupted one, and a lock file newer than it a changed pin.
installed() {
  [ -x "$bin" ] && [ -f "$mods/.package-lock.json" ] && ! [ "$dir/package-lock.json" -nt "$mods/.package-lock.json" ]
}

install() {
  installed && return 0
  need_node
  echo "prism: installing @stoplight/prism-cli into tools/prism (npm ci)" >&2
  local log
  log="$(mktemp)"
  if ! npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "npm ci --prefix tools/prism failed"
  fi
  rm -f "$log"
  touch "$mods/.package-lock.json"
  [ -x "$bin" ] || die "npm ci finished but $bin is missing"
}

spec() {
  local p
  for p in "$here/../shared/reference/$SPEC_NAME" "/work/shared/reference/$SPEC_NAME"; do
    if [ -r "$p" ]; then
      (cd "$(dirname "$p")" && echo "$(pwd)/$SPEC_NAME")
      return 0
    fi
  done
  die "$SPEC_NAME not found in $here/../shared/reference nor /work/shared/reference"
}

mock() {
  local port="${1:-}" file="${2:-}" limit="${PRISM_START_TIMEOUT:-60}"
  case "$port" in
  '' | *[!0-9]*) die "usage: scripts/prism.sh mock PORT [SPEC]" ;;
  esac
  [ -n "$file" ] || file="$(spec)"
  [ -r "$file" ] || die "cannot read $file"
  install
  "$bin" mock -h 127.0.0.1 -p "$port" --errors "$file" &
  local pid=$!
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 143' TERM INT HUP
  local start=$SECONDS
  # any HTTP answer (Prism says 404 for /) means it listens
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; do
    kill -0 "$pid" 2>/dev/null || {
      wait "$pid" || true
      die "prism exited before listening on 127.0.0.1:$port"
    }
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      kill "$pid" 2>/dev/null || true
      die "prism not listening on 127.0.0.1:$port after $limit s"
    fi
    sleep 0.2
  done
  echo "prism: listening on http://127.0.0.1:$port ($file) after $((SECONDS - start)) s" >&2
  wait "$pid"
}

case "${1:-}" in
install) install ;;
spec) spec ;;
mock)
  shift
  mock "$@"
  ;;
*) die "usage: scripts/prism.sh install | spec | mock PORT [SPEC]" ;;
esac
