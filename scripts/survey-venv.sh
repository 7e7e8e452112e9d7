#!/usr/bin/env bash
# Prints the Python of target/survey-venv, creating it first when missing:
# the PyPI tools astronomers hold survey data with (pyarrow, nested-pandas,
# hats-import, lsdb, astropy), pinned in tests/ref/survey-requirements.txt,
# which tests/ref/make_survey_tables.py uses to write the reference tables of
# tests/survey.rs. Fails loudly (exit 1, reason on stderr): those tests need it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/survey-venv
REQ=tests/ref/survey-requirements.txt
STAMP="$VENV/.requirements"
if [ -x "$VENV/bin/python" ] && cmp -s "$REQ" "$STAMP" 2>/dev/null; then
  echo "$PWD/$VENV/bin/python"; exit 0
fi
{
  mkdir -p target
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 needs python3-venv for ensurepip
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      rm -rf "$VENV"; python3 -m venv "$VENV"
    else
      echo "survey-venv: python3 -m venv failed; install python3-venv" >&2; exit 1
    fi
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$STAMP"
} >&2
echo "$PWD/$VENV/bin/python"
