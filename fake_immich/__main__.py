"""Run the fake Immich server by hand: ``python -m fake_immich --port 2283``."""

from __future__ import annotations

import argparse
import threading

from .accounts import ALICE_KEY, ALL_PERMISSIONS, API_KEYS
from .server import FakeImmich


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Immich 2.7.4 API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2283)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--bulk", type=int, default=0, help="extra bulk assets for alice")
    args = parser.parse_args()

    fake = FakeImmich(latency=args.latency, port=args.port, host=args.host)
    if args.bulk:
        fake.add_bulk_assets(ALICE_KEY, args.bulk, start="2023-01-01T00:00:00Z", end="2024-12-31T23:59:59Z")
    fake.start()
    print(f"Fake Immich 2.7.4 at {fake.url}  (API base {fake.url}/api)", flush=True)
    for key in API_KEYS.values():
        perms = (
            "all"
            if "all" in key.permissions
            else (
                ", ".join(key.permissions)
                if len(key.permissions) < 4
                else "all but " + ", ".join(sorted(set(ALL_PERMISSIONS) - set(key.permissions)))
            )
        )
        print(f"  {key.user:<6} {key.key}  ({perms})", flush=True)
    print(f"  {len(fake.assets)} assets. Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
