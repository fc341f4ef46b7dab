#!/usr/bin/env bash
# Set up framesift in ./.venv on a fresh CPU machine: the CPU build of torch first (an
# unpinned torch would pull gigabytes of CUDA packages), then framesift and its test tools.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,eval,vila,serve,lmms,ray]'
# lmms-eval without its own requirements (a CUDA torch, torchvision): the lmms extra has its imports
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps lmms-eval==0.7.3
