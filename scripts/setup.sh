#!/usr/bin/env bash
# Idempotent set-up: a virtualenv with the Python packages, the browser libraries from npm,
# and (with --test) Debian's Chromium for the browser tests. Re-running skips what is current.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

stamps=.setup-stamps
mkdir -p "$stamps"
fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }
is_current() { [[ -f "$stamps/$1" && "$(cat "$stamps/$1")" == "$2" ]]; }

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [[ ! -x .venv/bin/python ]]; then
    echo "setup: creating .venv with $python"
    "$python" -m venv .venv
fi

# The exact versions and hashes of requirements*.lock (pip-compile --generate-hashes), then
# this checkout itself, editable, with nothing more resolved.
lock=requirements.lock
[[ $want_test == 1 ]] && lock=requirements-test.lock
pyfp="$(fingerprint pyproject.toml "$lock")$lock"
if ! is_current python "$pyfp"; then
    echo "setup: installing Python packages from $lock"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
    .venv/bin/python -m pip install --quiet --no-deps -e .
    echo "$pyfp" > "$stamps/python"
fi

npmfp="$(fingerprint package.json)"
if ! is_current npm "$npmfp" || [[ ! -d node_modules/leaflet ]]; then
    echo "setup: installing browser libraries from npm"
    npm install --no-audit --no-fund --loglevel=error
    echo "$npmfp" > "$stamps/npm"
fi
# The same libraries, checked against package-lock.json's sha512, inside the package for the wheel.
.venv/bin/python scripts/vendor.py

# Debian packages the tests drive: Chromium (through Playwright), nginx (as a reverse proxy),
# and Redis and PostgreSQL servers that the outage tests start, kill and freeze themselves.
if [[ $want_test == 1 ]]; then
    missing=()
    [[ -x /usr/bin/chromium ]] || missing+=(chromium fonts-dejavu-core)
    [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    command -v systemd-analyze >/dev/null || missing+=(systemd)  # checks deploy/photo-atlas.service
    if (( ${#missing[@]} )); then
        echo "setup: installing Debian packages for the tests: ${missing[*]}"
        sudo_cmd=""
        [[ $(id -u) != 0 ]] && sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi
