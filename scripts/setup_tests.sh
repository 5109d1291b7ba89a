#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine (Python 3.11 + pip):
# the package with its test extra, Debian's Chromium (plus a CJK font) for the headless-browser
# test of the offline map, gdal-bin so terrain is checked against GDAL's own gdaldem, and
# grass-core so the viewshed is checked against GRASS GIS r.viewshed (validation/check_viewshed.py;
# about 10 s to install on a Debian 12 machine with a package mirror).
# Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[test]"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-noto-cjk)
command -v gdaldem >/dev/null 2>&1 || missing+=(gdal-bin)
command -v grass >/dev/null 2>&1 || missing+=(grass-core)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages ${missing[*]} (browser, GDAL and GRASS tests) ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "WARNING: Debian packages ${missing[*]} are missing and cannot be installed here (needs root and apt-get);" >&2
    echo "         without them tests/test_maps_browser.py, tests/test_terrain_gdal.py and" >&2
    echo "         tests/test_validation.py (check_terrain, check_viewshed) fail." >&2
  fi
fi
