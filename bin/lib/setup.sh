# Idempotent set-up shared by bin/run and bin/test (sourced, not run).
# Each step is skipped when its inputs have not changed since it last succeeded.

STACK_HOME="${APP_HOME:-$PWD}"

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

setup_dirs() {  # the stack home (APP_HOME, default the repository root) holds var/ and logs/
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
  if ! stamp_ok "python-$extras" setup.cfg pyproject.toml python-sdk/pyproject.toml; then
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

check_config() {
  .venv/bin/python -m config check >/dev/null || exit 2
}
