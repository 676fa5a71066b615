#!/usr/bin/env bash
# Install the Debian packages mountcam's tests, interop checks and benches read files with.
#
# Usage: tools/install-system-deps.sh [test|interop|bench]   (default: test)
#   test     exiftool (tests compare every EXIF field against it) and chromium (Playwright drives
#            it headless in the camera app's browser tests; Playwright's own browser download
#            is not used)
#   interop  + darktable-cli and rawtherapee-cli (DNG acceptance item 4, `make interop`)
#   bench    the interop set (bench/develop_speed.py times darktable-cli and rawtherapee-cli)
#            and chromium (bench/web_load.py's browser clients)
#
# Only what is missing is installed; `apt-get update` runs at most once, and only when something
# is missing, so a second run costs a few milliseconds. Recommends are skipped: darktable's pull
# in a desktop's worth of packages (themes, lua, gphoto) that the command-line exporters do not
# need, and they would triple the download in CI.
set -euo pipefail

set_name="${1:-test}"

# "package:command" pairs; the command proves the package is usable (a package can be installed
# yet broken, a command can come from elsewhere, e.g. a hand-built darktable: both are fine).
case "$set_name" in
  test)    wanted=("libimage-exiftool-perl:exiftool" "chromium:chromium") ;;
  interop) wanted=("libimage-exiftool-perl:exiftool" "darktable:darktable-cli"
                   "rawtherapee:rawtherapee-cli") ;;
  bench)   wanted=("libimage-exiftool-perl:exiftool" "darktable:darktable-cli"
                   "rawtherapee:rawtherapee-cli" "chromium:chromium") ;;
  *) echo "install-system-deps.sh: unknown set '$set_name' (use test, interop or bench)" >&2
     exit 2 ;;
esac

missing=()
for pair in "${wanted[@]}"; do
  pkg="${pair%%:*}"
  cmd="${pair#*:}"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps.sh: missing ${missing[*]} and no apt-get here; install them with" \
       "your system's package manager" >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

echo "Installing ${missing[*]} (apt-get; darktable and rawtherapee take a few minutes) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
