#!/usr/bin/env bash
# Runs checkov over infra/ from its own virtualenv (.venv-checkov), so checkov's many pinned
# dependencies never touch the project's .venv. Idempotent: the venv is (re)built only when the
# pinned version below or this script changes (a stamp file records what was installed).
#   scripts/checkov.sh                 scan infra/ (all modules and the example root)
#   scripts/checkov.sh --quiet         only the failed checks
#   scripts/checkov.sh -o json ...     extra arguments go to checkov
# Exit code: checkov's (non-zero when any check failed).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION="3.3.30"
VENV="${CHECKOV_VENV:-.venv-checkov}"
STAMP="$VENV/.checkov-stamp"

log() { printf '[checkov] %s\n' "$*" >&2; }

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 9) else 1)' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  log "a Python 3.9+ interpreter is needed to install checkov; set PYTHON=/path/to/python3"; exit 1
}

want="$(printf '%s\n' "$CHECKOV_VERSION" | cat - "$0" | sha256sum | cut -c1-16)"
if ! { [ -x "$VENV/bin/checkov" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; }; then
  py="$(find_python)"
  [ -x "$VENV/bin/python" ] || { log "creating virtualenv $VENV with $py"; "$py" -m venv "$VENV"; }
  log "installing checkov==$CHECKOV_VERSION into $VENV (first time only: a few minutes)"
  # (pip's notes about unusable local index locations are noise here and filtered out)
  "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v 'is ignored: it is neither' || true; } >&2
  "$VENV/bin/python" -m pip install -q "checkov==$CHECKOV_VERSION" 2>&1 | { grep -v 'is ignored: it is neither' || true; } >&2
  [ -x "$VENV/bin/checkov" ] || { log "checkov did not install; see the pip output above"; exit 1; }
  echo "$want" > "$STAMP"
fi

# --download-external-modules false: every module is local; no network is needed or wanted.
exec "$VENV/bin/checkov" --directory infra --framework terraform --compact \
  --download-external-modules false --skip-download "$@"
