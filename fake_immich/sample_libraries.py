"""The deterministic photo libraries of alice and bob, and bulk libraries for benchmarks."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .accounts import USERS
from .assets import MIME_BY_EXT, FakeAsset, color_of, dt_of, ms_of, v4_uuid
from .images import PALETTE

# --------------------------------------------------------------------------------------------
# The libraries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    city: str | None
    state: str | None
    country: str | None
    lat: float
    lon: float
    time_zone: str | None
    offset_min: int


PARIS = Place("Paris", "Île-de-France", "France", 48.8566, 2.3522, "UTC+1", 60)
NEW_YORK = Place("New York City", "New York", "United States of America", 40.7128, -74.0060, "UTC-5", -300)
TOKYO = Place("Tokyo", "Tokyo", "Japan", 35.6762, 139.6503, "Asia/Tokyo", 540)
SYDNEY = Place("Sydney", "New South Wales", "Australia", -33.8688, 151.2093, "UTC+11", 660)
REYKJAVIK = Place("Reykjavík", "Capital Region", "Iceland", 64.1466, -21.9426, "Atlantic/Reykjavik", 0)
TAVEUNI = Place("Taveuni", "Northern", "Fiji", -16.85, 179.97, "Pacific/Fiji", 720)
LONGYEARBYEN = Place("Longyearbyen", "Svalbard", "Svalbard and Jan Mayen", 78.2232, 15.6267, "UTC+1", 60)
BERLIN = Place("Berlin", "Berlin", "Germany", 52.5200, 13.4050, "Europe/Berlin", 60)
CAPE_TOWN = Place("Cape Town", "Western Cape", "South Africa", -33.9249, 18.4241, "UTC+2", 120)
PLACES = (PARIS, NEW_YORK, TOKYO, SYDNEY, REYKJAVIK, TAVEUNI, LONGYEARBYEN, BERLIN, CAPE_TOWN)

CAMERAS = (
    ("Apple", "iPhone 13 Pro"),
    ("Canon", "Canon EOS R6"),
    ("SONY", "ILCE-7M3"),
    ("Google", "Pixel 7"),
)

WINDOW_START = datetime(2023, 1, 1, tzinfo=UTC)
WINDOW_END = datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)


class _Builder:
    def __init__(self, user: str, seed: str) -> None:
        self.user = user
        self.owner_id = USERS[user]["id"]
        self.rng = random.Random(seed)
        self.assets: list[FakeAsset] = []
        self.counter = 0

    def when(self, start: datetime = WINDOW_START, end: datetime = WINDOW_END) -> datetime:
        lo, hi = ms_of(start) // 1000, ms_of(end) // 1000
        return dt_of(self.rng.randint(lo, hi) * 1000)

    def add(
        self,
        place: Place | None,
        *,
        taken: datetime | None = None,
        name: str | None = None,
        kind: str = "IMAGE",
        ext: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        jitter_km: float = 8.0,
        no_gps: bool = False,
        no_exif_date: bool = False,
        trashed: bool = False,
        archived: bool = False,
        favorite: bool | None = None,
        size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> FakeAsset:
        rng = self.rng
        self.counter += 1
        asset_id = v4_uuid(rng)
        when = taken or self.when()
        if ext is None:
            ext = ".mp4" if kind == "VIDEO" else ".jpg"
        if name is None:
            stem = "VID" if kind == "VIDEO" else "IMG"
            name = f"{stem}_{self.counter:04d}{ext.upper() if ext == '.heic' else ext}"
        mime = MIME_BY_EXT.get(ext.lower(), "application/octet-stream")
        if no_gps or place is None:
            la = lo = None
            city = state = country = None
        else:
            if lat is None or lon is None:
                dist = jitter_km * math.sqrt(rng.random())
                bearing = rng.random() * 2 * math.pi
                la = place.lat + (dist / 111.32) * math.cos(bearing)
                lo = place.lon + (dist / (111.32 * max(0.01, math.cos(math.radians(place.lat))))) * (math.sin(bearing))
                la, lo = round(la, 6), round(lo, 6)
            else:
                la, lo = lat, lon
            city, state, country = place.city, place.state, place.country
        make, model = CAMERAS[rng.randrange(len(CAMERAS))]
        if kind == "VIDEO":
            w, h = width or 1920, height or 1080
            secs = rng.randint(3, 95)
            duration = f"0:{secs // 60:02d}:{secs % 60:02d}.{rng.randint(0, 999):03d}000"
            default_size = rng.randint(8_000_000, 30_000_000)
        else:
            portrait = rng.random() < 0.25
            w, h = width or (3024 if portrait else 4032), height or (4032 if portrait else 3024)
            duration = None
            default_size = rng.randint(1_500_000, 6_500_000)
        is_favorite = (rng.random() < 0.08) if favorite is None else favorite
        created_ms = ms_of(when) + rng.randint(60, 86_400 * 3) * 1000
        asset = new_asset(
            self.user,
            asset_id,
            taken=when,
            created_ms=created_ms,
            kind=kind,
            name=name,
            ext=ext,
            mime_type=mime,
            taken_at=None if no_exif_date else when,
            latitude=la,
            longitude=lo,
            city=city,
            state=state,
            country=country,
            is_trashed=trashed,
            size=size or default_size,
            time_zone=None if (no_exif_date or place is None) else place.time_zone,
            utc_offset_minutes=0 if (no_exif_date or place is None) else place.offset_min,
            make=make,
            model=model,
            width=w,
            height=h,
            duration=duration,
            is_favorite=is_favorite,
            visibility="archive" if archived else "timeline",
        )
        self.assets.append(asset)
        return asset


def new_asset(
    user: str,
    asset_id: str,
    *,
    taken: datetime,
    created_ms: int,
    kind: str = "IMAGE",
    name: str | None = None,
    **fields: Any,
) -> FakeAsset:
    """One asset taken at ``taken`` and uploaded at ``created_ms``; ``fields`` are any other
    ``FakeAsset`` fields (``latitude``, ``city``, ``is_favorite``, ``true_latitude``, ...).
    What they leave out is plain: no GPS, a landscape JPEG or a ten-second MP4."""
    video = kind == "VIDEO"
    ext = fields.pop("ext", ".mp4" if video else ".jpg")
    values: dict[str, Any] = {
        "id": asset_id,
        "owner_key_user": user,
        "owner_id": USERS[user]["id"],
        "type": kind,
        "original_file_name": name or f"{'VID' if video else 'IMG'}_{asset_id[:8]}{ext}",
        "mime_type": MIME_BY_EXT.get(ext.lower(), "application/octet-stream"),
        "taken_at": taken,
        "file_created_at": taken,
        "latitude": None,
        "longitude": None,
        "city": None,
        "country": None,
        "is_trashed": False,
        "size": 2_500_000,
        "width": 1920 if video else 4032,
        "height": 1080 if video else 3024,
        "duration": "0:00:10.000000" if video else None,
        "created_ms": created_ms,
        "sort_ms": ms_of(taken),
        "color": color_of(asset_id),
        "ext": ext.lower(),
    }
    values.update(fields)
    return FakeAsset(**values)


def build_alice() -> tuple[list[FakeAsset], dict[str, object]]:
    b = _Builder("alice", "photo-atlas/fake-immich/alice/v1")
    special: dict[str, object] = {}
    for place, count in ((PARIS, 70), (NEW_YORK, 60), (TOKYO, 60), (SYDNEY, 50), (REYKJAVIK, 40)):
        for _ in range(count):
            b.add(place)
    # Taveuni straddles the antimeridian.
    fiji_lons = (179.95, 179.97, 179.99, 180.0, -179.95, -179.97, -179.99, 179.93, -179.93, 179.98)
    special["antimeridian"] = [
        b.add(TAVEUNI, lat=round(-16.85 + 0.01 * i, 4), lon=lon).id for i, lon in enumerate(fiji_lons)
    ]
    # Near the North Pole (no reverse-geocoded place) and in Svalbard.
    pole = (89.9, 0.0), (89.95, 90.0), (89.99, -135.0), (90.0, 0.0)
    special["north_pole"] = [b.add(Place(None, None, None, la, lo, "UTC", 0), lat=la, lon=lo).id for la, lo in pole]
    special["svalbard"] = [b.add(LONGYEARBYEN, jitter_km=3).id for _ in range(6)]
    special["no_gps"] = [b.add(None).id for _ in range(15)]
    special["no_exif_date"] = [b.add(PARIS, no_exif_date=True).id for _ in range(5)] + [
        b.add(None, no_exif_date=True).id for _ in range(3)
    ]
    special["trashed"] = [
        b.add(place, trashed=True).id for place in (PARIS, PARIS, NEW_YORK, TOKYO, SYDNEY, REYKJAVIK)
    ] + [b.add(None, trashed=True).id, b.add(PARIS, kind="VIDEO", trashed=True).id]
    special["videos"] = [
        b.add(place, kind="VIDEO", ext=ext).id
        for place, ext in (
            (PARIS, ".mp4"),
            (PARIS, ".mov"),
            (NEW_YORK, ".mp4"),
            (TOKYO, ".mov"),
            (SYDNEY, ".mp4"),
            (REYKJAVIK, ".mp4"),
            (TAVEUNI, ".mp4"),
            (TOKYO, ".mp4"),
            (None, ".mp4"),
        )
    ]
    special["archived"] = [b.add(PARIS, archived=True).id, b.add(TOKYO, archived=True).id]
    special["non_ascii"] = b.add(PARIS, name="Été à Paris.jpg", taken=datetime(2024, 7, 14, 12, 0, tzinfo=UTC)).id
    special["hostile"] = b.add(
        PARIS,
        name='../evil";\r\nSet-Cookie: x=1;.jpg',
        taken=datetime(2023, 6, 1, 9, 15, tzinfo=UTC),
    ).id
    special["heic"] = b.add(
        TOKYO, name="IMG_4242.HEIC", ext=".heic", taken=datetime(2024, 4, 2, 3, 4, 5, tzinfo=UTC)
    ).id
    special["large"] = b.add(
        REYKJAVIK,
        name="PANO_0001.jpg",
        size=64 * 1024 * 1024,
        width=16000,
        height=4000,
        taken=datetime(2023, 9, 20, 22, 30, tzinfo=UTC),
    ).id
    special["boundary"] = b.add(NEW_YORK, taken=datetime(2024, 1, 1, tzinfo=UTC)).id
    tie = datetime(2023, 8, 15, 10, 0, tzinfo=UTC)
    special["same_time"] = [b.add(SYDNEY, taken=tie).id, b.add(SYDNEY, taken=tie).id]
    # Thumbnails not generated yet: Immich serves a null thumbhash until they are.
    no_thumbs = set(special["no_gps"][-3:])
    for asset in b.assets:
        if asset.id in no_thumbs:
            asset.has_thumbhash = False
    special["no_thumbhash"] = sorted(no_thumbs)
    return b.assets, special


def build_bob() -> tuple[list[FakeAsset], dict[str, object]]:
    b = _Builder("bob", "photo-atlas/fake-immich/bob/v1")
    special: dict[str, object] = {}
    for _ in range(12):
        b.add(BERLIN, taken=b.when(datetime(2024, 1, 1, tzinfo=UTC), WINDOW_END))
    for _ in range(8):
        b.add(CAPE_TOWN, taken=b.when(WINDOW_START, datetime(2023, 12, 31, tzinfo=UTC)))
    special["trashed"] = [b.add(BERLIN, trashed=True).id]
    special["videos"] = [b.add(CAPE_TOWN, kind="VIDEO").id]
    special["no_gps"] = [b.add(None).id]
    return b.assets, special


def bulk_assets(
    user: str,
    n: int,
    *,
    start: datetime,
    end: datetime,
    center: tuple[float, float],
    spread_km: float,
    seed: object,
) -> list[FakeAsset]:
    """n IMAGE assets with GPS spread uniformly over a disc, taken uniformly in [start, end]."""
    rng = random.Random(f"photo-atlas/fake-immich/bulk/{user}/{seed}")
    owner_id = USERS[user]["id"]
    lo_ms, hi_ms = ms_of(start), ms_of(end)
    clat, clon = center
    km_per_deg_lon = 111.32 * max(0.01, math.cos(math.radians(clat)))
    npal = len(PALETTE)
    out: list[FakeAsset] = []
    rand = rng.random
    span = hi_ms - lo_ms + 1
    sqrt, cos, sin, tau = math.sqrt, math.cos, math.sin, 2 * math.pi
    from_ts = datetime.fromtimestamp
    hexes = rng.randbytes(16 * n).hex()
    for i in range(n):
        h = hexes[32 * i : 32 * i + 32]
        variant = "89ab"[int(h[16], 16) & 3]
        asset_id = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"
        ms = lo_ms + int(rand() * span)
        when = from_ts(ms / 1000, UTC)
        dist = spread_km * sqrt(rand())
        bearing = rand() * tau
        lat = clat + dist / 111.32 * cos(bearing)
        lon = clon + dist / km_per_deg_lon * sin(bearing)
        if lat > 90.0:
            lat, lon = 180.0 - lat, lon + 180.0
        elif lat < -90.0:
            lat, lon = -180.0 - lat, lon + 180.0
        if not -180.0 <= lon <= 180.0:
            lon = ((lon + 180.0) % 360.0) - 180.0
        out.append(
            FakeAsset(
                id=asset_id,
                owner_key_user=user,
                owner_id=owner_id,
                type="IMAGE",
                original_file_name=f"BULK_{i:06d}.jpg",
                mime_type="image/jpeg",
                taken_at=when,
                file_created_at=when,
                latitude=round(lat, 6),
                longitude=round(lon, 6),
                city=None,
                country=None,
                is_trashed=False,
                size=2_000_000 + int(h[26:32], 16) % 4_194_304,
                time_zone="UTC",
                make="Apple",
                model="iPhone 13 Pro",
                created_ms=ms + 3_600_000,
                sort_ms=ms,
                color=int(h[7], 16) % npal,
            )
        )
    return out
