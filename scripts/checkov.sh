#!/usr/bin/env bash
# Runs checkov over infra/ from its own virtualenv, so checkov's many pinned dependencies never
# touch the project's .venv. The virtualenv lives in a per-user cache outside the checkout,
# named by checkov's version, so every clone on the machine (CI's fresh ones included) reuses it:
#   ${XDG_CACHE_HOME:-~/.cache}/dynamodb-dr/checkov-<version>   (CHECKOV_VENV overrides it)
# It is built once, under a lock (two clones starting at once build it once), and marked complete
# by a stamp file only after checkov installed: a half-built virtualenv is rebuilt, never used.
#   scripts/checkov.sh                 scan infra/ (all modules and the example root)
#   scripts/checkov.sh --quiet         only the failed checks
#   scripts/checkov.sh -o json ...     extra arguments go to checkov
# Exit code: checkov's (non-zero when any check failed).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION="3.3.30"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/dynamodb-dr"
VENV="${CHECKOV_VENV:-$CACHE/checkov-$CHECKOV_VERSION}"
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

installed() { [ -x "$VENV/bin/checkov" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "checkov==$CHECKOV_VERSION" ]; }

if ! installed; then
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9
  if ! installed; then  # another clone may have built it while this one waited for the lock
    py="$(find_python)"
    rm -rf "$VENV"
    log "creating virtualenv $VENV with $py"
    "$py" -m venv "$VENV"
    log "installing checkov==$CHECKOV_VERSION into $VENV (once per machine and version: a few minutes)"
    # (pip's notes about unusable local index locations are noise here and filtered out)
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v 'is ignored: it is neither' || true; } >&2
    "$VENV/bin/python" -m pip install -q "checkov==$CHECKOV_VERSION" 2>&1 | { grep -v 'is ignored: it is neither' || true; } >&2
    [ -x "$VENV/bin/checkov" ] || { log "checkov did not install; see the pip output above"; exit 1; }
    echo "checkov==$CHECKOV_VERSION" > "$STAMP"
  fi
  exec 9>&-
fi

# --download-external-modules false: every module is local; no network is needed or wanted.
exec "$VENV/bin/checkov" --directory infra --framework terraform --compact \
  --download-external-modules false --skip-download "$@"
