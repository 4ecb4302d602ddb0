#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine, installed or started
# idempotently: services, the S3-compatible server, Chromium, npm packages
# for the SDK conformance suite and the web client's build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/start-services.sh
scripts/install-versitygw.sh
scripts/install-chromium.sh
npm --prefix test/sdk ci --no-audit --no-fund
npm --prefix web ci --no-audit --no-fund
npm --prefix web run build
