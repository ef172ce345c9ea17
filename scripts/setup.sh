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

extras=""
[[ $want_test == 1 ]] && extras="[test]"
pyfp="$(fingerprint pyproject.toml)$extras"
if ! is_current python "$pyfp"; then
    echo "setup: installing Python packages"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".$extras"
    echo "$pyfp" > "$stamps/python"
fi

npmfp="$(fingerprint package.json)"
if ! is_current npm "$npmfp" || [[ ! -d node_modules/leaflet ]]; then
    echo "setup: installing browser libraries from npm"
    npm install --no-audit --no-fund --loglevel=error
    echo "$npmfp" > "$stamps/npm"
fi

if [[ $want_test == 1 && ! -x /usr/bin/chromium ]]; then
    echo "setup: installing Debian's chromium for the browser tests"
    sudo_cmd=""
    [[ $(id -u) != 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

if [[ $want_test == 1 && ! -x /usr/sbin/nginx ]]; then
    echo "setup: installing Debian's nginx for the reverse-proxy tests"
    sudo_cmd=""
    [[ $(id -u) != 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nginx-light >/dev/null
fi
