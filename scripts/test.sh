#!/usr/bin/env bash
# Set up (including Chromium) and run every test. PostgreSQL and Redis tests run when
# TEST_POSTGRES_URL and TEST_REDIS_URL are set; under CI=true they must be set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
