#!/usr/bin/env bash
# Sets up everything the project needs on a fresh Debian/Ubuntu machine:
#   - Java 17 for Spark (openjdk-17-jre-headless) when no usable `java` is on the PATH
#   - a Python 3.11 virtualenv in .venv with the project and its dev dependencies
# Idempotent: a second run with nothing changed does nothing and prints nothing but a line.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
STAMP="$VENV/.bootstrap-stamp"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    log "need root to run: $*  (run as root, or install it yourself)"; exit 1; fi
}

java_major() {
  java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}

ensure_java() {
  if command -v java >/dev/null 2>&1; then
    local major; major="$(java_major || true)"
    if [ -n "$major" ] && [ "$major" -ge 17 ] 2>/dev/null; then return; fi
    log "java on PATH is version '${major:-unknown}', Spark 3.5 here needs 17"
  fi
  log "installing Java 17 (openjdk-17-jre-headless) with apt-get"
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get on this machine: install a Java 17 runtime and put 'java' on PATH, then re-run"; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
  command -v java >/dev/null 2>&1 || { log "java still missing after install"; exit 1; }
  local after; after="$(java_major || true)"
  if ! [ "${after:-0}" -ge 17 ] 2>/dev/null; then
    log "Java 17 is installed, but 'java' on PATH ($(command -v java)) is still version '${after:-unknown}':"
    log "put /usr/lib/jvm/java-17-openjdk-*/bin first on PATH (or set JAVA_HOME to it) and re-run"
    exit 1
  fi
}

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  log "Python 3.11 is required (Glue 5.x runs 3.11); set PYTHON=/path/to/python3.11"; exit 1
}

ensure_venv() {
  local want; want="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)"
  if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then return; fi
  local py; py="$(find_python)"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV with $py"
    "$py" -m venv "$VENV"
  fi
  log "installing the project and its dev dependencies into $VENV (first time: a few minutes, pyspark is large)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e '.[dev]'
  echo "$want" > "$STAMP"
}

ensure_java
ensure_venv
log "ready: $("$VENV/bin/python" --version), java $(java_major)"
