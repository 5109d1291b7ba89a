#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine (Python 3.11 + pip):
# the package with its test extra, Debian's Chromium (plus a CJK font) for the headless-browser
# test of the offline map, and gdal-bin so terrain is checked against GDAL's own gdaldem.
# Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[test]"
if ! command -v chromium >/dev/null 2>&1 || ! command -v gdaldem >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages chromium, fonts-noto-cjk, gdal-bin (browser and GDAL tests) ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium fonts-noto-cjk gdal-bin >/dev/null
  else
    echo "WARNING: chromium or gdaldem is missing and cannot be installed here (needs root and apt-get);" >&2
    echo "         install the Debian packages 'chromium' and 'gdal-bin', or tests/test_maps_browser.py" >&2
    echo "         and tests/test_terrain_gdal.py will fail." >&2
  fi
fi
