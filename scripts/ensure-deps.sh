#!/bin/sh
# Installs dependencies when they are missing or older than package-lock.json, so that
# `npm start` and `npm test` work on a fresh clone without a separate install step.
set -eu
cd "$(dirname -- "$0")/.."
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  # `npm install` (not `npm ci`) updates in place, without first deleting node_modules.
  echo "Installing dependencies (npm install)..." >&2
  npm install --no-audit --no-fund >&2
fi
