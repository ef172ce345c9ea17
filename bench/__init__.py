"""Photo Atlas benchmarks: each measurement beside its baseline, in one run.

    .venv/bin/python -m bench            # full sizes
    .venv/bin/python -m bench --quick    # fewer repeats, smaller sizes

Everything runs on 127.0.0.1: a fake Immich in this process and Photo Atlas as a real
gunicorn server in a child process group, both stopped at the end. Results are printed as a
table and written to bench/results/latest.json.
"""
