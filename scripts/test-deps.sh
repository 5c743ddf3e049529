#!/usr/bin/env bash
# What the tests need from Debian, installed the one way both `npm test` (its pretest step) and
# .ci/run use, so the two cannot drift:
#   chromium          the browser test (Debian's build; no browser is ever downloaded)
#   fonts-wqy-zenhei  a CJK font: the browser test fails when Chinese renders as boxes
#   fonts-ipafont-gothic  a Japanese font (IPA Gothic), so Japanese pages get Japanese glyph shapes
#   fonts-lohit-deva  a Devanagari font (Hindi), and fonts-tlwg-loma a Thai one: boxes fail those pages too
#   redis-server      the Redis tests start their own servers on free loopback ports
#   python3-jwcrypto  the Python example of docs/integration.md (opening a sealed API key) is run by a test
# Run as root with apt-get (CI, a fresh Debian machine), it installs whatever is missing;
# anywhere else it says exactly what to install and fails. Does nothing when all is there.
set -euo pipefail

has() { command -v "$1" >/dev/null 2>&1; }
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
has redis-server || need+=(redis-server)
/usr/bin/python3 -c 'import jwcrypto' >/dev/null 2>&1 || need+=(python3-jwcrypto)
has fc-list || need+=(fontconfig)
# Any installed font that covers Chinese will do (fontconfig's own answer, not a name match).
if ! has fc-list || [ -z "$(fc-list ':lang=zh-cn' family 2>/dev/null)" ]; then need+=(fonts-wqy-zenhei); fi
# Japanese: a font made for it (any CJK font covers kana, but draws kanji the Chinese way).
if ! has fc-list || [ -z "$(fc-list ':lang=ja' family 2>/dev/null | grep -v -i wenquanyi)" ]; then need+=(fonts-ipafont-gothic); fi
if ! has fc-list || [ -z "$(fc-list ':lang=hi' family 2>/dev/null)" ]; then need+=(fonts-lohit-deva); fi
if ! has fc-list || [ -z "$(fc-list ':lang=th' family 2>/dev/null)" ]; then need+=(fonts-tlwg-loma); fi
[ "${#need[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && has apt-get; then
  echo "test setup: installing ${need[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit 0
fi
echo "The tests need ${need[*]}. Install with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
exit 1
