#!/usr/bin/env bash
# Installs a real VS Code for the integration tests: code-server (its lib/vscode is VS Code's own
# server and extension host) from the npm registry, with nothing fetched from anywhere else.
#   usage: scripts/integration/setup-code-server.sh [DEST]
#   DEST: the argument, else $CS_DIR, else node_modules/.cache/relevance-lens/code-server (see paths.mjs;
#   $RL_CACHE_DIR moves that cache)
# Needs the apt packages chromium ripgrep libkrb5-dev (plus make/g++/python3 for node-gyp).
# Idempotent: a DEST that already holds a finished install is left alone.
set -euo pipefail
VERSION=${CS_VERSION:-4.100.3}   # = VS Code 1.100.3, the newest that runs on Node 20
DEST_ARG=${1:-${CS_DIR:-${RL_CACHE_DIR:-node_modules/.cache/relevance-lens}/code-server}}
DEST=$(mkdir -p "$DEST_ARG" && cd "$DEST_ARG" && pwd)
STAMP="$DEST/.ready-$VERSION"
if [ -f "$STAMP" ]; then echo "code-server $VERSION already in $DEST"; exit 0; fi
command -v rg >/dev/null || { echo "setup-code-server: /usr/bin/rg missing (apt-get install ripgrep)" >&2; exit 1; }

# node-pty runs `npx node-gyp` in its install script; headers come from the local Node install
# so node-gyp never downloads them.
export npm_config_yes=true
export npm_config_nodedir=${NODEDIR:-$(dirname "$(dirname "$(command -v node)")")}
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_loglevel=error

cd "$DEST"
[ -f package.json ] || echo '{"name":"relevance-lens-vscode-runtime","private":true}' > package.json
# code-server's own postinstall downloads ripgrep from GitHub: skip it and do its work below.
npm install --ignore-scripts --no-save "code-server@$VERSION"
# argon2's prebuilt download fails offline; node-gyp builds it from source instead.
npm rebuild argon2 || echo "setup-code-server: argon2 rebuild failed (only password auth needs it)"

VSC="$DEST/node_modules/code-server/lib/vscode"
cd "$VSC"
npm install --omit=dev --ignore-scripts          # versions pinned by its npm-shrinkwrap.json
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg   # Debian's ripgrep in place of the download
npm rebuild                                       # native modules: node-pty, spdlog, kerberos, ...
ln -sfn node_modules node_modules.asar            # the server resolves some modules through .asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev)         # built-in extensions' shared dependencies
touch "$STAMP"
echo "code-server $VERSION ready: $VSC/out/server-main.js"
