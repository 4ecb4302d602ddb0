#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end tests (test/browser).
# Idempotent: does nothing when /usr/bin/chromium is already there. Never
# downloads a browser build of its own; Debian's package is the only source.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
