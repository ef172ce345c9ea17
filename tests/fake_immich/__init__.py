"""A faithful fake of the Immich 2.7.4 API over real HTTP (see ``server.py``).

from tests.fake_immich import FakeImmich, ALICE_KEY
with FakeImmich() as fake:
    requests.post(f"{fake.url}/api/search/metadata", json={...},
                  headers={"x-api-key": ALICE_KEY})
"""

from .data import (
    ALICE_ID,
    ALICE_KEY,
    ALICE_KEY_NO_DOWNLOAD,
    ALICE_KEY_NO_READ,
    ALICE_KEY_NO_VIEW,
    ALICE_USER,
    API_KEYS,
    BOB_ID,
    BOB_KEY,
    BOB_USER,
    EARTH_RADIUS_M,
    USERS,
    FakeAsset,
    haversine_m,
)
from .server import FAULT_MODES, SERVER_VERSION, FakeImmich, RecordedRequest

__all__ = [
    "ALICE_ID",
    "ALICE_KEY",
    "ALICE_KEY_NO_DOWNLOAD",
    "ALICE_KEY_NO_READ",
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
