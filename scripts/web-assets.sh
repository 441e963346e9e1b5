#!/usr/bin/env bash
# Build the web app's SPARQL editor (web/static/sparql/editor.js) from web/editor/: CodeMirror 6
# and its SPARQL mode at the versions package-lock.json pins, installed by `npm ci` from the npm
# registry and bundled by esbuild. Nothing is fetched by the browser from anywhere but the app.
# Node.js and npm come from Debian's packages where they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "Installing Debian packages: nodejs npm (to build the SPARQL editor)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
