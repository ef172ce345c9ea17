"""A faithful fake of the Immich 2.7.4 API over real HTTP, for tests, benchmarks and a quick look.

from fake_immich import FakeImmich, ALICE_KEY
with FakeImmich() as fake:
    requests.post(f"{fake.url}/api/search/metadata", json={...},
                  headers={"x-api-key": ALICE_KEY})

While it serves, a test can change the library from its own thread: ``add_assets``,
``change_asset`` (``bump_updated_at=False`` for an edit that reached only the exif),
``trash``, ``restore``, ``delete_permanently``; ``extract_metadata_after_edit = False`` keeps
API edits in the exif too. ``request_counts()`` counts requests per endpoint, and
``gpx_track`` writes where a user really was, from the assets' hidden true positions.

A development tool: it lives beside ``service/`` and is not part of the built wheel.
``python -m fake_immich --port 2283`` serves it by hand.
"""

from .accounts import (
    ALICE_ID,
    ALICE_KEY,
    ALICE_KEY_NO_DOWNLOAD,
    ALICE_KEY_NO_READ,
    ALICE_KEY_NO_UPDATE,
    ALICE_KEY_NO_VIEW,
    ALICE_USER,
    API_KEYS,
    BOB_ID,
    BOB_KEY,
    BOB_USER,
    USERS,
)
from .assets import EARTH_RADIUS_M, FakeAsset, haversine_m
from .server import FAULT_MODES, SERVER_VERSION, FakeImmich
from .transport import RecordedRequest

__all__ = [
    "ALICE_ID",
    "ALICE_KEY",
    "ALICE_KEY_NO_DOWNLOAD",
    "ALICE_KEY_NO_READ",
    "ALICE_KEY_NO_UPDATE",
    "ALICE_KEY_NO_VIEW",
    "ALICE_USER",
    "API_KEYS",
    "BOB_ID",
    "BOB_KEY",
    "BOB_USER",
    "EARTH_RADIUS_M",
    "FAULT_MODES",
    "SERVER_VERSION",
    "USERS",
    "FakeAsset",
    "FakeImmich",
    "RecordedRequest",
    "haversine_m",
]
