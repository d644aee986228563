#!/usr/bin/env bash
# Chromium for the browser tests, from the distribution's packages (no download by Playwright).
# Prints one line and exits non-zero when it cannot be installed: make test-browser then fails, never skips.
set -uo pipefail
for name in "${LESSONLIB_CHROMIUM:-}" chromium chromium-browser; do
  if [ -n "$name" ] && command -v "$name" >/dev/null 2>&1; then exit 0; fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-browser: no Chromium and no apt-get here: install Chromium and set LESSONLIB_CHROMIUM to it" >&2; exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "test-browser: no Chromium, and installing it needs root (apt-get install chromium)" >&2; exit 1; fi
fi
if ! ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium) >/tmp/lessonlib-chromium.log 2>&1; then
  echo "test-browser: apt-get install chromium failed (log: /tmp/lessonlib-chromium.log): $(tail -1 /tmp/lessonlib-chromium.log)" >&2; exit 1
fi
command -v chromium >/dev/null 2>&1 || { echo "test-browser: chromium installed but not on PATH" >&2; exit 1; }
