#!/usr/bin/env bash
# Set up, migrate the database and serve Photo Atlas on http://$HOST:$PORT (default 127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/flask --app wsgi db-upgrade
exec .venv/bin/gunicorn --config gunicorn.conf.py wsgi:app
