#!/usr/bin/env bash
# Re-record the contract suite into a scratch copy of cassettes/, check it against the contracts, and report drift.
# Committed cassettes are only written with --accept, and only after the whole run has finished.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/rerecord.sh [--target sandbox|live] [--accept] [--out DIR] [--max-cost USD] [--profile NAME]
                           [--fail-on breaking|additive|any] [--keep-scratch] [-- PYTEST-ARGS...]

Re-records tests/contract into a scratch directory (completed with the committed cassettes of tests that did not
run, so it is a full copy of cassettes/), runs `replaykit contracts check` on it, then
`replaykit drift cassettes SCRATCH` and writes drift.md, drift.json, drift-junit.xml, drift.txt and
drift-annotations.txt (GitHub workflow commands) to --out.
Exit status is drift's: 0 clean, 1 drift at/above --fail-on, 2 usage, credential or run error.

  --target T      sandbox (default, offline) or live (real providers; needs credentials)
  --accept        copy the re-recorded cassettes over cassettes/ and run `replaykit contracts update`,
                  leaving a git diff to review
  --out DIR       where reports go (default: drift-report/)
  --max-cost USD  cost limit passed to the record run (default: $REPLAYKIT_MAX_COST or 1.00)
  --profile NAME  sandbox profile (default: default)
  --fail-on C     lowest drift class that fails the run (default: breaking)
  --keep-scratch  keep the scratch directory and print its path
  -- ARGS         extra arguments for pytest (e.g. -k bedrock)

Environment: REPLAYKIT_PYTHON (python to use; default .venv/bin/python, else python3), REPLAYKIT_ROOT (project
root; default: the parent of this script's directory). Live credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
AWS_PROFILE for Bedrock/S3, OPENAI_API_KEY for OpenAI (only the providers the cassettes use are required).
EOF
}

die() { echo "rerecord.sh: $*" >&2; exit 2; }

TARGET=sandbox
ACCEPT=0
OUT=drift-report
MAX_COST="${REPLAYKIT_MAX_COST:-1.00}"
PROFILE=default
FAIL_ON=breaking
KEEP=0
EXTRA=()

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) need_value "$@"; TARGET="$2"; shift 2 ;;
    --target=*) TARGET="${1#*=}"; shift ;;
    --accept) ACCEPT=1; shift ;;
    --out) need_value "$@"; OUT="$2"; shift 2 ;;
    --out=*) OUT="${1#*=}"; shift ;;
    --max-cost) need_value "$@"; MAX_COST="$2"; shift 2 ;;
    --max-cost=*) MAX_COST="${1#*=}"; shift ;;
    --profile) need_value "$@"; PROFILE="$2"; shift 2 ;;
    --profile=*) PROFILE="${1#*=}"; shift ;;
    --fail-on) need_value "$@"; FAIL_ON="$2"; shift 2 ;;
    --fail-on=*) FAIL_ON="${1#*=}"; shift ;;
    --keep-scratch) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done

case "$TARGET" in sandbox|live) ;; *) die "--target must be sandbox or live, not '$TARGET'" ;; esac
case "$FAIL_ON" in breaking|additive|any) ;; *) die "--fail-on must be breaking, additive or any" ;; esac
[[ "$MAX_COST" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--max-cost must be a number of US dollars, not '$MAX_COST'"

ROOT="${REPLAYKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$ROOT" || die "cannot enter project root $ROOT"
CASSETTES=cassettes
CONTRACTS=contracts
[[ -d "$CASSETTES" ]] || die "no $CASSETTES/ directory in $ROOT (nothing to re-record against)"
[[ -d tests/contract ]] || die "no tests/contract/ in $ROOT (the contract suite to re-record)"

if [[ -n "${REPLAYKIT_PYTHON:-}" ]]; then
  PY="$REPLAYKIT_PYTHON"
elif [[ -x .venv/bin/python ]]; then
  PY=.venv/bin/python
else
  PY=python3
fi
command -v "$PY" >/dev/null 2>&1 || die "python not found: $PY (set REPLAYKIT_PYTHON)"
RK=("$PY" -m replaykit.cli)

# -- credentials (live only): say exactly what is missing before anything is spent --------------------------------
if [[ "$TARGET" == live ]]; then
  need_aws=0
  need_openai=0
  if grep -rqsE 'amazonaws\.com|operation: (bedrock-runtime|s3)\.' "$CASSETTES"; then need_aws=1; fi
  if grep -rqsE 'api\.openai\.com|operation: openai\.' "$CASSETTES"; then need_openai=1; fi
  if [[ $need_aws == 0 && $need_openai == 0 ]]; then need_aws=1; need_openai=1; fi
  missing=()
  if [[ $need_aws == 1 ]]; then
    if [[ -n "${AWS_ACCESS_KEY_ID:-}" ]]; then
      [[ -n "${AWS_SECRET_ACCESS_KEY:-}" ]] || missing+=("AWS_SECRET_ACCESS_KEY (AWS_ACCESS_KEY_ID is set without it)")
    elif [[ -z "${AWS_PROFILE:-}" && -z "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" \
            && -z "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" ]] \
         && ! grep -qs '^\[default\]' "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}"; then
      missing+=("AWS credentials for Bedrock/S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    fi
  fi
  if [[ $need_openai == 1 && -z "${OPENAI_API_KEY:-}" ]]; then
    missing+=("OPENAI_API_KEY for OpenAI")
  fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "rerecord.sh: --target live needs credentials that are not set:" >&2
    for m in "${missing[@]}"; do echo "  - $m" >&2; done
    exit 2
  fi
fi

# -- scratch copy: everything is recorded here; cassettes/ is untouched until --accept ----------------------------
SCRATCH_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/replaykit-rerecord.XXXXXX")"
SCRATCH="$SCRATCH_ROOT/cassettes"
ACCEPTING=0

cleanup() {
  # half-copied files from an interrupted --accept never replace a committed cassette (copies are renamed in)
  find "$ROOT/$CASSETTES" -name '*.rerecord-tmp.*' -type f -delete 2>/dev/null || true
  if [[ $KEEP == 1 ]]; then
    echo "rerecord.sh: scratch kept at $SCRATCH"
  else
    rm -rf "$SCRATCH_ROOT"
  fi
}
on_interrupt() {
  if [[ $ACCEPTING == 1 ]]; then
    echo "rerecord.sh: interrupted during --accept; cassettes copied so far show in git diff (git checkout to undo)" >&2
  else
    echo "rerecord.sh: interrupted; committed cassettes are untouched" >&2
  fi
  exit 130
}
trap cleanup EXIT
trap on_interrupt INT TERM

# Record into an empty directory: vcrpy's record mode "all" keeps every old interaction no new request matches, so
# re-recording over a copy would leave stale calls behind wherever a request carries fresh ids (S3 upload ids,
# tool-use ids). Cassettes the run does not record are copied in afterwards and compare as unchanged.
mkdir -p "$SCRATCH"

echo "rerecord.sh: recording tests/contract (target=$TARGET, profile=$PROFILE, max cost \$$MAX_COST) into $SCRATCH"
set +e
"$PY" -m pytest tests/contract --record-mode=all -p no:cacheprovider \
  --replaykit-cassette-dir="$SCRATCH" --replaykit-target="$TARGET" --replaykit-sandbox-profile="$PROFILE" \
  --replaykit-contracts=off --replaykit-cost-limit="$MAX_COST" -q ${EXTRA[@]+"${EXTRA[@]}"}
PYTEST_RC=$?
set -e
case $PYTEST_RC in
  0) PYTEST_STATUS="passed" ;;
  1) PYTEST_STATUS="some tests failed (drift may explain them; see below)" ;;
  5) die "pytest collected no tests in tests/contract" ;;
  *) die "pytest was interrupted or could not run (exit $PYTEST_RC); nothing compared, cassettes untouched" ;;
esac

# cassettes of tests that did not run (deselected, skipped) complete the scratch copy unchanged
while IFS= read -r -d '' rel; do
  rel="${rel#./}"
  if [[ ! -e "$SCRATCH/$rel" ]]; then
    mkdir -p "$(dirname "$SCRATCH/$rel")"
    cp "$CASSETTES/$rel" "$SCRATCH/$rel"
  fi
done < <(cd "$CASSETTES" && find . -type f -print0)

# -- contracts check of the fresh traffic --------------------------------------------------------------------------
CONTRACT_ARGS=()
CONTRACTS_STATUS="skipped (no $CONTRACTS/ directory)"
if [[ -d "$CONTRACTS" ]]; then
  CONTRACT_ARGS=(--contracts "$CONTRACTS")
  if "${RK[@]}" contracts --help >/dev/null 2>&1; then
    set +e
    "${RK[@]}" contracts check --cassettes "$SCRATCH" --contracts "$CONTRACTS"
    rc=$?
    set -e
    case $rc in
      0) CONTRACTS_STATUS="ok" ;;
      1) CONTRACTS_STATUS="violations (listed above; also contract-violation findings in the drift report)" ;;
      *) CONTRACTS_STATUS="error (exit $rc)" ;;
    esac
  else
    CONTRACTS_STATUS="skipped (this replaykit has no 'contracts' command)"
  fi
fi

# -- drift: one comparison, every report format --------------------------------------------------------------------
mkdir -p "$OUT"
set +e
"${RK[@]}" drift "$CASSETTES" "$SCRATCH" ${CONTRACT_ARGS[@]+"${CONTRACT_ARGS[@]}"} --fail-on "$FAIL_ON" \
  --format text --output "$OUT/drift.txt" --report "markdown=$OUT/drift.md" --report "json=$OUT/drift.json" \
  --report "junit=$OUT/drift-junit.xml" --report "github=$OUT/drift-annotations.txt" >/dev/null
DRIFT_RC=$?
set -e
[[ $DRIFT_RC -le 1 ]] || die "replaykit drift failed (exit $DRIFT_RC)"

echo
echo "== replaykit re-record: target=$TARGET profile=$PROFILE =="
echo "pytest:    $PYTEST_STATUS"
echo "contracts: $CONTRACTS_STATUS"
lines=$(wc -l <"$OUT/drift.txt")
if [[ $lines -gt 40 ]]; then
  head -n 36 "$OUT/drift.txt"
  echo "  … $((lines - 37)) more lines in $OUT/drift.txt"
  tail -n 1 "$OUT/drift.txt"
else
  cat "$OUT/drift.txt"
fi
echo "reports:   $OUT/drift.md $OUT/drift.json $OUT/drift-junit.xml $OUT/drift.txt"

# -- accept: copy over committed cassettes, refresh contracts ------------------------------------------------------
if [[ $ACCEPT == 1 ]]; then
  ACCEPTING=1
  changed=0
  while IFS= read -r -d '' rel; do
    rel="${rel#./}"
    dest="$CASSETTES/$rel"
    if [[ -f "$dest" ]] && cmp -s "$SCRATCH/$rel" "$dest"; then continue; fi
    mkdir -p "$(dirname "$dest")"
    tmp="$dest.rerecord-tmp.$$"
    cp "$SCRATCH/$rel" "$tmp"
    mv -f "$tmp" "$dest"  # rename: a cassette is either the old file or the new one, never half of each
    changed=$((changed + 1))
  done < <(cd "$SCRATCH" && find . -type f -print0)
  echo "accepted:  $changed cassette(s) updated in $CASSETTES/"
  if [[ -d "$CONTRACTS" ]] && "${RK[@]}" contracts --help >/dev/null 2>&1; then
    "${RK[@]}" contracts update --cassettes "$CASSETTES" --contracts "$CONTRACTS" \
      || echo "rerecord.sh: 'replaykit contracts update' failed; cassettes are updated, contracts are not" >&2
  fi
  ACCEPTING=0
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "review:    git diff --stat -- $CASSETTES $CONTRACTS"
    git -C "$ROOT" status --short -- "$CASSETTES" "$CONTRACTS" | head -n 20 || true
  fi
fi

exit "$DRIFT_RC"
