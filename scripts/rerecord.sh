#!/usr/bin/env bash
# This repository's wrapper around `replaykit rerecord` (which works in any project: see docs/drift.md).
# Re-records tests/contract ([tool.replaykit] rerecord_tests) into a scratch copy of cassettes/, checks it against
# the contracts, and writes drift reports to --out (default drift-report/). Every option is replaykit rerecord's:
#   scripts/rerecord.sh [--target sandbox|live] [--accept] [--out DIR] [--max-cost USD] [--profile NAME]
#                       [--fail-on breaking|additive|any] [--keep-scratch] [-- PYTEST-ARGS...]
# Exit status is drift's: 0 clean, 1 drift at/above --fail-on, 2 usage, credential or run error.
# Environment: REPLAYKIT_PYTHON (python to use; default .venv/bin/python, else python3), REPLAYKIT_ROOT (project
# root; default: the parent of this script's directory).
set -euo pipefail

ROOT="${REPLAYKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$ROOT" || { echo "rerecord.sh: cannot enter project root $ROOT" >&2; exit 2; }

if [[ -n "${REPLAYKIT_PYTHON:-}" ]]; then
  PY="$REPLAYKIT_PYTHON"
elif [[ -x .venv/bin/python ]]; then
  PY=.venv/bin/python
else
  PY=python3
fi
command -v "$PY" >/dev/null 2>&1 || { echo "rerecord.sh: python not found: $PY (set REPLAYKIT_PYTHON)" >&2; exit 2; }

exec "$PY" -m replaykit.cli rerecord "$@"
