#!/usr/bin/env bash
# Installs the Debian packages disparo builds, runs and tests with, but only
# those that are missing, so `make run` and `make test` work on a fresh
# Debian 12 machine and cost nothing on a prepared one.
set -eu
pkgs="gcc g++ make pkg-config libevent-dev libcurl4-openssl-dev libsqlite3-dev
      libjansson-dev libssl-dev libcsv-dev libphonenumber-dev libzip-dev libexpat1-dev libxlsxwriter-dev libcmocka-dev tzdata python3 curl"
# Node.js and npm run Stoplight Prism in `make test` (scripts/prism.sh installs
# Prism itself with npm). Asked of the commands, not of dpkg: NodeSource's
# nodejs package carries npm and conflicts with Debian's npm package.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
