#!/usr/bin/env bash
# The native tests under AddressSanitizer + UndefinedBehaviorSanitizer (native/build-asan).
# Ends with "N passed, N failed". Extra arguments go to native/scripts/test.mjs (e.g. -R block).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node native/scripts/test.mjs --sanitize --build-dir native/build-asan "$@"
