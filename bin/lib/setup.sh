# Idempotent set-up shared by bin/run and bin/test (sourced, not run).
# Each step is skipped when its inputs have not changed since it last succeeded.

STACK_HOME="${APP_HOME:-$PWD}"
# Programs find the stack home from APP_HOME (config's default is the working directory). A home
# other than this checkout (APP_HOME=DIR bin/run) runs the checkout's supervisord.conf unless it has
# its own (and in production serves the app bin/run builds here: serve_built_app).
mkdir -p "$STACK_HOME" && STACK_HOME="$(cd "$STACK_HOME" && pwd)"
export APP_HOME="$STACK_HOME"
FOREIGN_HOME=false
if [ "$STACK_HOME" != "$PWD" ] && [ ! -f "$STACK_HOME/supervisord.conf" ]; then
  FOREIGN_HOME=true
  export SUPERVISOR_CONFIG="${SUPERVISOR_CONFIG:-$PWD/supervisord.conf}"
fi

serve_built_app() {  # production from a home other than this checkout: the app built here
  if "$FOREIGN_HOME"; then export STATIC_DIR="${STATIC_DIR:-$PWD/src/frontend/dist}"; fi
}

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

stamp_ok() {  # stamp_ok NAME INPUT...: true when the inputs hash to the recorded stamp
  local name=$1; shift
  local want; want=$(cat "$@" 2>/dev/null | sha256sum | cut -c1-16)
  [ -f "var/.stamp-$name" ] && [ "$(cat "var/.stamp-$name")" = "$want" ]
}
stamp_write() {
  local name=$1; shift
  cat "$@" 2>/dev/null | sha256sum | cut -c1-16 > "var/.stamp-$name"
}

setup_dirs() {  # the stack home (APP_HOME, default the checkout bin/run runs from) holds var/ and logs/
  mkdir -p var "$STACK_HOME/var/run" "$STACK_HOME/logs"
  chmod 700 "$STACK_HOME/var"  # the SQLite database (password and key hashes) lives here
  chmod 700 "$STACK_HOME/var/run"
}

setup_python() {  # setup_python [EXTRAS]: .venv with the project and its SDK (python-sdk/) installed, editable
  local extras=${1:-}
  local py=${PYTHON:-python3}
  command -v "$py" >/dev/null || die "Python 3.11+ is needed ($py not found)"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ is needed ($("$py" --version))"
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$py" -m venv .venv
  fi
  local spec="."; [ -n "$extras" ] && spec=".[$extras]"
  # A .venv with the dev extras (bin/test's) holds everything bin/run needs too.
  if ! stamp_ok "python-$extras" setup.cfg pyproject.toml python-sdk/pyproject.toml \
    && ! { [ -z "$extras" ] && stamp_ok python-dev setup.cfg pyproject.toml python-sdk/pyproject.toml; }; then
    say "installing the project and its SDK into .venv ($spec, ./python-sdk)"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e "$spec" -e ./python-sdk
    stamp_write "python-$extras" setup.cfg pyproject.toml python-sdk/pyproject.toml
  fi
}

setup_frontend() {
  command -v npm >/dev/null || die "Node.js 20+ with npm is needed for the frontend (npm not found)"
  if [ ! -d src/frontend/node_modules ] || ! stamp_ok npm src/frontend/package-lock.json; then
    say "installing the frontend's packages (npm ci)"
    (cd src/frontend && npm ci --no-audit --no-fund --loglevel=error)
    stamp_write npm src/frontend/package-lock.json
  fi
}

check_config() {  # problems go to stderr, one line each (python -m config check)
  .venv/bin/python -m config check >/dev/null || exit 2
}

app_env() {  # APP_ENV as config reads it (environment, then .env, then the default)
  .venv/bin/python -c '
import sys
from config.config import ConfigError, load
try:
    print(load().APP_ENV)
except ConfigError as exc:
    sys.exit(f"error: {exc}")
' 
}

frontend_sources() {  # every file the production build reads (not node_modules, not dist)
  (cd src/frontend && git ls-files -co --exclude-standard -- . ':!dist' ':!node_modules' 2>/dev/null \
    || find . -path ./node_modules -prune -o -path ./dist -prune -o -type f -print) | LC_ALL=C sort \
    | sed 's|^|src/frontend/|'
}

build_frontend() {  # npm run build into src/frontend/dist, skipped when no source changed
  local sources; mapfile -t sources < <(frontend_sources)
  if [ -f src/frontend/dist/index.html ] && stamp_ok build "${sources[@]}"; then
    return 0
  fi
  say "building the frontend for production (npm run build)"
  (cd src/frontend && npm run build --silent) >&2 || die "the frontend build failed (see above)"
  stamp_write build "${sources[@]}"
}

write_shape() {  # STACK_HOME/var/supervisord.d/shape.conf; a running supervisord takes a new shape
  local out; out=$(.venv/bin/python -m ops.shape write) || exit 2
  say "$out"
  case "$out" in *"(changed)"*) restart_supervisord_if_running ;; esac
}

restart_supervisord_if_running() {  # a new shape means other programs: stop them all, bin/run starts again
  local ctl=("$ROOT/.venv/bin/supervisorctl" -c "$ROOT/supervisord.conf") pid
  pid=$(cd "$STACK_HOME" && "${ctl[@]}" pid 2>/dev/null) || return 0
  case "$pid" in ''|*[!0-9]*) return 0 ;; esac
  say "the shape changed: stopping the running supervisord (pid $pid) first"
  (cd "$STACK_HOME" && "${ctl[@]}" shutdown >/dev/null)
  local deadline=$((SECONDS + 120))
  while kill -0 "$pid" 2>/dev/null; do  # gone only once every program has stopped
    [ "$SECONDS" -lt "$deadline" ] || die "supervisord (pid $pid) did not stop within 120 s"
    sleep 0.5
  done
}
