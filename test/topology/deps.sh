#!/usr/bin/env bash
# What `npm run topology` needs from Debian: what the tests need (Chromium, a CJK font and
# redis-server, from scripts/test-deps.sh, the one place that installs them) plus nginx and
# openssl. As root with apt-get it installs whatever is missing; anywhere else it says what to
# install and fails. Does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/test-deps.sh

has() { command -v "$1" >/dev/null 2>&1; }
need=()
has nginx || need+=(nginx)
has openssl || need+=(openssl)
[ "${#need[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && has apt-get; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # nginx-light is the smallest build with what deploy/nginx.conf uses (ssl, proxy); releases
  # without that package have `nginx` itself.
  if [[ " ${need[*]} " == *" nginx "* ]] && apt-cache show nginx-light >/dev/null 2>&1; then
    need=("${need[@]/#nginx/nginx-light}")
  fi
  echo "topology setup: installing ${need[*]} from Debian's packages"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit 0
fi
echo "The topology test needs ${need[*]}. Install with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
exit 1
