// Package browser holds Parley's end-to-end tests in real Chromium: the
// binary is built (with -race), started with `parley serve --demo` on a
// free port with a temporary data directory, and two browser contexts play
// a patient and a provider using the embedded web client. Two small proxies
// stand in for networks: one the test can cut (a phone dropping off the
// network, so that messages are certainly missed and must be caught up) and
// one that refuses WebSocket upgrades (the long-polling fallback).
//
// Requirements: Debian's Chromium at /usr/bin/chromium (or $CHROMIUM_PATH);
// scripts/install-chromium.sh installs it. The web client is built with npm
// when web/dist has no build. Screenshots and logs of each step are written
// to test/browser/artifacts/.
//
// Nothing here is for concurrent use; the tests run one scenario in order.
package browser
