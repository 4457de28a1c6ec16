# Shared by scripts/run.sh and scripts/test.sh: installing what is missing, and running a
# private PostgreSQL cluster. Source it; do not run it.

# The trunk release that builds with this project's Rust toolchain (0.22 needs a newer rustc).
TRUNK_VERSION=0.21.14

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages given whose command is missing. Arguments: "command:package".
ensure_apt() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# PostgreSQL's server programs (initdb, pg_ctl, postgres) are not on PATH on Debian: the
# newest installed version that has them (a newer client-only install has no initdb).
pg_bin_dir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  dir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  [ -x "$dir/initdb" ] || return 1
  echo "$dir"
}

ensure_postgres() {
  if ! pg_bin_dir >/dev/null; then
    log "installing PostgreSQL"
    as_root apt-get update -qq
    # Only the programs: Debian would otherwise create and start a system-wide cluster.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >/dev/null
    as_root mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.d/gallery.conf >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN=$(pg_bin_dir) || die "PostgreSQL's initdb was not found after installing it"
  export PATH="$PG_BIN:$PATH"
}

# The Rust side: cargo, the wasm target, trunk, and the wasm-bindgen CLI that matches
# Cargo.lock exactly (trunk would otherwise try to download one).
ensure_rust_tools() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs) first"
  command -v rustup >/dev/null || die "rustup is missing: this project needs Rust installed with rustup (https://rustup.rs) for the wasm32 target"
  ensure_apt cc:build-essential pkg-config:pkg-config
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    log "installing trunk $TRUNK_VERSION (takes a few minutes, once)"
    cargo install --locked --quiet trunk --version "$TRUNK_VERSION"
  fi
  local bindgen
  bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
  [ -n "$bindgen" ] || die "Cargo.lock names no wasm-bindgen version"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen" ]; then
    log "installing wasm-bindgen-cli $bindgen (takes a few minutes, once)"
    # Not --locked: its lock file pins crates that need a newer compiler than ours.
    cargo install --quiet --force wasm-bindgen-cli --version "$bindgen"
  fi
}

# Debian's nginx with the brotli_static module, and envsubst for scripts/render-nginx.sh: the
# deployment tests run the same nginx build as docker-compose's frontend image.
ensure_nginx() {
  local missing=()
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  [ -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ] || missing+=(libnginx-mod-http-brotli-static)
  command -v envsubst >/dev/null 2>&1 || missing+=(gettext-base)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Node.js 20 or newer (the browser tests' runner and playwright-core need it). Debian 12 and
# Ubuntu 24.04 ship 18: then Node.js's own build, which the npm registry carries as the package
# node-linux-<cpu>, goes into .tools/node (once) and comes first on PATH.
NODE_FALLBACK_MAJOR=22
node_major() { node -p 'process.versions.node.split(".")[0]'; }
ensure_node() {
  ensure_apt node:nodejs npm:npm
  [ "$(node_major)" -ge 20 ] && return 0
  local cpu
  case "$(uname -m)" in
    x86_64) cpu=x64 ;;
    aarch64 | arm64) cpu=arm64 ;;
    *) die "Node.js $(node_major) is too old, and there is no Node.js build for $(uname -m) to fetch: install Node.js 20 or newer" ;;
  esac
  local bin="$PWD/.tools/node/node_modules/node-linux-$cpu/bin"
  if [ ! -x "$bin/node" ]; then
    log "Node.js $(node_major) is too old: installing Node.js $NODE_FALLBACK_MAJOR into .tools/node"
    npm install --prefix .tools/node --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-$cpu@$NODE_FALLBACK_MAJOR" >/dev/null
  fi
  export PATH="$bin:$PATH"
  [ "$(node_major)" -ge 20 ] || die "Node.js $(node_major) is still too old: install Node.js 20 or newer"
}

# Debian names it chromium, Ubuntu's apt chromium-browser; CHROMIUM_PATH overrides.
find_chromium() {
  if [ -z "${CHROMIUM_PATH:-}" ]; then
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || ensure_apt chromium:chromium
    CHROMIUM_PATH=$(command -v chromium || command -v chromium-browser) || die "no Chromium found: set CHROMIUM_PATH"
  fi
  export CHROMIUM_PATH
}

# Builds the web client into web/dist: trunk with binaryen's wasm-opt from npm (web/package.json;
# Debian's is too old for today's WebAssembly), then a brotli and a gzip copy of every hashed
# asset, which the server sends to browsers that accept them.
build_web() {
  log "building the web client"
  ensure_node
  ensure_apt brotli:brotli gzip:gzip openssl:openssl
  (cd web && { [ -x node_modules/.bin/wasm-opt ] && [ -x node_modules/.bin/terser ] || npm ci --no-audit --no-fund --loglevel=error; })
  (cd web && PATH="$PWD/node_modules/.bin:$PATH" trunk build --release)
  local asset
  # trunk cannot minify wasm-bindgen's JavaScript: terser does, and the page's subresource
  # integrity hash for it follows.
  for asset in web/dist/gallery-web-*.js; do
    local before after
    before=$(openssl dgst -sha384 -binary "$asset" | base64 -w0)
    web/node_modules/.bin/terser "$asset" --module --compress --mangle --output "$asset"
    after=$(openssl dgst -sha384 -binary "$asset" | base64 -w0)
    sed -i "s|sha384-$before|sha384-$after|" web/dist/index.html
    grep -q "sha384-$after" web/dist/index.html || die "index.html does not name the minified $asset"
  done
  for asset in web/dist/*-*.js web/dist/*-*.wasm web/dist/*-*.css; do
    [ -f "$asset" ] || continue
    brotli --force --best --keep "$asset"
    gzip --force --best --keep "$asset"
  done
  log "web client on the wire (brotli): $(wire_bytes br) bytes of wasm and js; gzip: $(wire_bytes gz)"
}

# The bytes the web client's wasm and js take on the wire with compression `$1` (br or gz).
wire_bytes() {
  cat web/dist/*.wasm."$1" web/dist/*.js."$1" | wc -c
}

# PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Gives a directory to the user PostgreSQL runs as, checking it can reach it at all.
prepare_pg_dir() {
  local dir=$1
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no 'postgres' user to run PostgreSQL as"
    chown postgres: "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "user 'postgres' cannot reach $dir (a parent directory is closed to it); use a GALLERY_DATA_DIR it can reach"
  fi
}

# A private cluster lives in one directory BASE, owned by the user PostgreSQL runs as:
#   BASE/cluster        the data directory
#   BASE/run            its Unix socket (the only way in: it never listens on TCP)
#   BASE/postgres.log   its log

# pg_init BASE SUPERUSER: creates the cluster (once); local connections are trusted, which is
# safe because only this user can enter BASE.
pg_init() {
  local base=$1 superuser=$2
  prepare_pg_dir "$base"
  [ -f "$base/cluster/PG_VERSION" ] && return 0
  as_pg_owner "$PG_BIN/initdb" --pgdata="$base/cluster" --username="$superuser" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  as_pg_owner mkdir -p "$base/run"
}

# pg_start BASE: starts the cluster and waits until it accepts connections.
pg_start() {
  local base=$1
  # A Unix socket path is limited to 107 bytes.
  [ ${#base} -lt 80 ] || die "the path $base is too long for PostgreSQL's socket; use a shorter GALLERY_DATA_DIR"
  as_pg_owner "$PG_BIN/pg_ctl" --pgdata="$base/cluster" --log="$base/postgres.log" --wait --silent \
    -o "-c listen_addresses='' -c unix_socket_directories='$base/run'" start >/dev/null
}

# pg_stop BASE: fast shutdown (disconnects clients, loses nothing); quiet if not running.
pg_stop() {
  local base=$1
  [ -f "$base/cluster/postmaster.pid" ] || return 0
  as_pg_owner "$PG_BIN/pg_ctl" --pgdata="$base/cluster" --mode=fast --wait --silent stop || true
}

# The Python tools of the API contract checks (backend/tests/contract/requirements.txt:
# schemathesis, openapi-python-client), in a virtual environment under target/ that is kept
# between runs and rebuilt when the requirements change.
CONTRACT_VENV=target/contract-venv
ensure_contract_tools() {
  ensure_apt python3:python3
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    log "installing python3-venv"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  local requirements=backend/tests/contract/requirements.txt
  if [ ! -x "$CONTRACT_VENV/bin/st" ] || ! cmp -s "$requirements" "$CONTRACT_VENV/requirements.txt"; then
    log "installing the API contract tools (schemathesis, openapi-python-client)"
    python3 -m venv --clear "$CONTRACT_VENV"
    "$CONTRACT_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$CONTRACT_VENV/requirements.txt"
  fi
}

# Writes REPORT (a markdown section starting "## TITLE") into BENCHMARKS.md, replacing the
# section of that title or adding it at the end. The benchmark scripts call it.
write_benchmark_section() {
  python3 - "$1" "$2" <<'PY'
import pathlib, re, sys
title, report = sys.argv[1], sys.argv[2].strip() + "\n"
path = pathlib.Path("BENCHMARKS.md")
text = path.read_text() if path.exists() else (
    "# Benchmarks\n\nFigures written by the scripts named with each; never typed in by hand.\n\n"
)
pattern = re.compile(r"## " + re.escape(title) + r"\n.*?(?=\n## |\Z)", re.S)
text = pattern.sub(lambda _: report, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + report
path.write_text(text)
PY
}

# start_gallery LOG [VAR=VALUE...]: starts the server (GALLERY_BIN, default the release build)
# in the background on a free loopback port, with the environment given on top of the
# current one, and waits until it serves; sets GALLERY_PID and GALLERY_URL. stop_gallery
# stops it.
start_gallery() {
  local log_file=$1
  shift
  env GALLERY_ADDR=127.0.0.1:0 GALLERY_LOG=info "$@" "${GALLERY_BIN:-target/release/gallery}" serve \
    >"$log_file" 2>&1 &
  GALLERY_PID=$!
  GALLERY_URL=""
  for _ in $(seq 1 600); do
    GALLERY_URL=$(grep -o 'serving Max Photo Gallery on http://[0-9.:]*' "$log_file" | head -1 | sed 's/.* on //' || true)
    [ -n "$GALLERY_URL" ] && return 0
    kill -0 "$GALLERY_PID" 2>/dev/null || { cat "$log_file" >&2; die "the server did not start"; }
    sleep 0.1
  done
  cat "$log_file" >&2
  die "the server did not say where it listens within a minute"
}

# stop_gallery: stops the server start_gallery started, if it runs.
stop_gallery() {
  if [ -n "${GALLERY_PID:-}" ] && kill -0 "$GALLERY_PID" 2>/dev/null; then
    kill -TERM "$GALLERY_PID" 2>/dev/null || true
    wait "$GALLERY_PID" 2>/dev/null || true
  fi
  GALLERY_PID=""
}
