#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests, when it is missing. Playwright drives it
# at /usr/bin/chromium; `playwright install` (which downloads a browser of its own) is never
# used here.
#
# Run it directly:  scripts/chromium.sh     (needs root, or sudo, when Chromium is missing)
# Or source it:     chromium_ensure         (returns 1 when it could not be installed)
# shellcheck shell=bash

CHROMIUM_BIN=/usr/bin/chromium

chromium_ensure() {
    if [[ -x $CHROMIUM_BIN ]]; then
        return 0
    fi
    local sudo=()
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "chromium: not installed, and installing it needs root" >&2
            return 1
        }
        sudo=(sudo)
    fi
    echo "chromium: installing Debian's chromium" >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        chromium fonts-dejavu-core >/dev/null || return 1
    [[ -x $CHROMIUM_BIN ]]
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    chromium_ensure
    "$CHROMIUM_BIN" --version
fi
