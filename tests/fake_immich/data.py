"""Users, API keys and the deterministic photo libraries of the fake Immich server."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import gmtime as _gmtime
from time import strftime as _strftime

from .images import PALETTE, solid_jpeg, solid_thumbhash

# --------------------------------------------------------------------------------------------
# Permissions (the subset of Immich's Permission enum that matters here, plus "all")
# --------------------------------------------------------------------------------------------

ALL_PERMISSIONS: tuple[str, ...] = (
    "activity.read",
    "album.read",
    "archive.read",
    "asset.read",
    "asset.update",
    "asset.delete",
    "asset.statistics",
    "asset.share",
    "asset.view",
    "asset.download",
    "asset.upload",
    "face.read",
    "library.read",
    "map.read",
    "memory.read",
    "partner.read",
    "person.read",
    "server.about",
    "server.versionCheck",
    "stack.read",
    "tag.read",
    "timeline.read",
    "timeline.download",
    "user.read",
    "userPreference.read",
)


def _without(*perms: str) -> tuple[str, ...]:
    return tuple(p for p in ALL_PERMISSIONS if p not in perms)


# --------------------------------------------------------------------------------------------
# Users and keys
# --------------------------------------------------------------------------------------------

ALICE_ID = "6f1c2a9e-3b7d-4c51-9a8e-2d4f6b8c0a11"
BOB_ID = "b0b5e7d2-81c4-4f3a-a6d9-5e2c7f9b1d22"

ALICE_USER: dict = {
    "id": ALICE_ID,
    "email": "alice@example.com",
    "name": "Alice Atlas",
    "profileImagePath": "",
    "avatarColor": "primary",
    "profileChangedAt": "2022-11-02T08:00:00.000Z",
    "storageLabel": "admin",
    "shouldChangePassword": False,
    "isAdmin": True,
    "createdAt": "2022-11-02T08:00:00.000Z",
    "updatedAt": "2024-12-30T18:04:11.120Z",
    "deletedAt": None,
    "oauthId": "",
    "quotaSizeInBytes": None,
    "quotaUsageInBytes": 0,
    "status": "active",
    "license": None,
}

BOB_USER: dict = {
    "id": BOB_ID,
    "email": "bob@example.com",
    "name": "Bob Builder",
    "profileImagePath": "",
    "avatarColor": "green",
    "profileChangedAt": "2023-03-12T16:20:00.000Z",
    "storageLabel": None,
    "shouldChangePassword": False,
    "isAdmin": False,
    "createdAt": "2023-03-12T16:20:00.000Z",
    "updatedAt": "2024-10-01T07:45:00.000Z",
    "deletedAt": None,
    "oauthId": "",
    "quotaSizeInBytes": 53687091200,
    "quotaUsageInBytes": 0,
    "status": "active",
    "license": None,
}

USERS: dict[str, dict] = {"alice": ALICE_USER, "bob": BOB_USER}
USER_NAME_BY_ID: dict[str, str] = {ALICE_ID: "alice", BOB_ID: "bob"}

ALICE_KEY = "fakeAliceAll0xQ4m9Tz7Lr2Vb8Nc5Hd1Wk6Ys3Pj0Ge"
BOB_KEY = "fakeBobAll00xR7n2Ux5Ms9Wc4Ld8Fe1Zq6Ht3Ka0Jv"
ALICE_KEY_NO_VIEW = "fakeAliceNoView0xS1p6Vy3Nd8Qf2Kg7Mb4Rt9Lw5C"
ALICE_KEY_NO_DOWNLOAD = "fakeAliceNoDownload0xT8q3Wz6Pe1Rh5Ln9Cv2Xm7"
ALICE_KEY_NO_READ = "fakeAliceOnlyUserRead0xU5r8Xa2Qg7Sj1Mp4Dw9"


@dataclass(frozen=True)
class ApiKey:
    key: str
    user: str  # "alice" | "bob"
    name: str
    permissions: tuple[str, ...]

    def grants(self, permission: str) -> bool:
        return "all" in self.permissions or permission in self.permissions


API_KEYS: dict[str, ApiKey] = {
    k.key: k
    for k in (
        ApiKey(ALICE_KEY, "alice", "atlas (all)", ("all",)),
        ApiKey(BOB_KEY, "bob", "atlas (all)", ("all",)),
        ApiKey(ALICE_KEY_NO_VIEW, "alice", "no asset.view", _without("asset.view")),
        ApiKey(ALICE_KEY_NO_DOWNLOAD, "alice", "no asset.download", _without("asset.download")),
        ApiKey(ALICE_KEY_NO_READ, "alice", "user.read only", ("user.read",)),
    )
}

# --------------------------------------------------------------------------------------------
# Assets
# --------------------------------------------------------------------------------------------

MIME_BY_EXT = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
}
WEB_IMAGE_MIMES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"}


@dataclass(slots=True, eq=False)
class FakeAsset:
    id: str
    owner_key_user: str  # "alice" | "bob"
    owner_id: str
    type: str  # "IMAGE" | "VIDEO"
    original_file_name: str
    mime_type: str
    taken_at: datetime | None  # exif dateTimeOriginal (aware, UTC) or None
    file_created_at: datetime  # aware, UTC; equals taken_at when that is known
    latitude: float | None
    longitude: float | None
    city: str | None
    country: str | None
    is_trashed: bool
    size: int  # bytes of the original
    state: str | None = None
    time_zone: str | None = None  # exif timeZone, e.g. "UTC+1" or "Asia/Tokyo"
    utc_offset_minutes: int = 0  # used for localDateTime
    make: str | None = None
    model: str | None = None
    width: int = 4032
    height: int = 3024
    duration: str | None = None  # videos: "0:00:12.345000"
    is_favorite: bool = False
    is_archived: bool = False
    created_ms: int = 0  # upload time (ms since epoch)
    sort_ms: int = 0  # fileCreatedAt in ms; the search order key
    color: int = 0  # palette index of its thumbnails
    ext: str = ".jpg"  # extension of the stored original
    _checksum: str = field(default="", repr=False)

    @property
    def taken(self) -> datetime:
        """The time Immich searches and sorts by (dateTimeOriginal, else fileCreatedAt)."""
        return self.taken_at or self.file_created_at

    @property
    def deleted_ms(self) -> int | None:
        return self.created_ms + 86_400_000 * 30 if self.is_trashed else None

    @property
    def original_path(self) -> str:
        return f"/data/upload/{self.owner_id}/{self.id[:2]}/{self.id[2:4]}/{self.id}{self.ext}"

    @property
    def checksum(self) -> str:
        """Base64 SHA-1, like Immich's (here derived from the id, not the bytes)."""
        if not self._checksum:
            self._checksum = base64.b64encode(hashlib.sha1(self.id.encode()).digest()).decode()
        return self._checksum

    @property
    def rgb(self) -> tuple[int, int, int]:
        return PALETTE[self.color]

    @property
    def visibility(self) -> str:
        return "archive" if self.is_archived else "timeline"

    @property
    def has_gps(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def v4_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ms_of(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def dt_of(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_DAY_PREFIX: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """JavaScript's Date.toISOString(): 2024-01-15T19:30:00.000Z."""
    secs, frac = divmod(ms, 1000)
    day, sod = divmod(secs, 86_400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        if not 0 <= secs < 253_402_300_800:
            d = _EPOCH + timedelta(milliseconds=ms)
            return (
                f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
                f"{d.second:02d}.{d.microsecond // 1000:03d}Z"
            )
        prefix = _strftime("%Y-%m-%dT", _gmtime(secs))
        if len(_DAY_PREFIX) < 200_000:
            _DAY_PREFIX[day] = prefix
    hour, rest = divmod(sod, 3600)
    minute, second = divmod(rest, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{frac:03d}Z"


EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def color_of(asset_id: str) -> int:
    return int(asset_id[:8], 16) % len(PALETTE)


# --------------------------------------------------------------------------------------------
# Asset JSON (AssetResponseDto / ExifResponseDto)
# --------------------------------------------------------------------------------------------


def exif_json(a: FakeAsset, taken_iso: str | None = None) -> dict:
    is_video = a.type == "VIDEO"
    if taken_iso is None:
        taken_iso = iso_ms(a.sort_ms)
    return {
        "make": a.make,
        "model": a.model,
        "exifImageWidth": a.width,
        "exifImageHeight": a.height,
        "fileSizeInByte": a.size,
        "orientation": None if is_video else "1",
        "dateTimeOriginal": taken_iso if a.taken_at is not None else None,
        "modifyDate": taken_iso,
        "timeZone": a.time_zone,
        "lensModel": None,
        "fNumber": None if is_video else 1.8,
        "focalLength": None if is_video else 5.7,
        "iso": None if is_video else 100,
        "exposureTime": None if is_video else "1/120",
        "latitude": a.latitude,
        "longitude": a.longitude,
        "city": a.city,
        "state": a.state,
        "country": a.country,
        "description": "",
        "projectionType": None,
        "rating": None,
    }


def asset_json(a: FakeAsset, *, with_exif: bool, detail: bool = False) -> dict:
    taken_iso = iso_ms(a.sort_ms)
    created_ms = a.created_ms
    out: dict = {
        "id": a.id,
        "createdAt": iso_ms(created_ms),
        "deviceAssetId": f"{a.original_file_name}-{a.size}",
        "ownerId": a.owner_id,
        "deviceId": "fake-phone-7c1e",
        "libraryId": None,
        "type": a.type,
        "originalPath": a.original_path,
        "originalFileName": a.original_file_name,
        "originalMimeType": a.mime_type,
        "thumbhash": solid_thumbhash(a.rgb, a.width >= a.height),
        "fileCreatedAt": taken_iso,
        "fileModifiedAt": taken_iso,
        "localDateTime": iso_ms(a.sort_ms + a.utc_offset_minutes * 60_000) if a.utc_offset_minutes else taken_iso,
        "updatedAt": iso_ms(created_ms + 3_600_000),
        "isFavorite": a.is_favorite,
        "isArchived": a.is_archived,
        "isTrashed": a.is_trashed,
        "isOffline": False,
        "visibility": a.visibility,
        "duration": a.duration or "0:00:00.00000",
        "livePhotoVideoId": None,
        "checksum": a.checksum,
        "isEdited": False,
        "duplicateId": None,
        "resized": True,
        "hasMetadata": True,
        "width": a.width,
        "height": a.height,
    }
    if with_exif:
        out["exifInfo"] = exif_json(a, taken_iso)
    if detail:
        user = USERS[a.owner_key_user]
        out["owner"] = {
            "id": user["id"],
            "email": user["email"],
            "name": user["name"],
            "profileImagePath": user["profileImagePath"],
            "avatarColor": user["avatarColor"],
            "profileChangedAt": user["profileChangedAt"],
        }
        out["people"] = []
        out["unassignedFaces"] = []
        out["tags"] = []
        out["stack"] = None
    return out


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _s(value: str | None) -> str:
    return "null" if value is None else _encode(value)


def _n(value: float | int | None) -> str:
    return "null" if value is None else repr(value)


def _b(value: bool) -> str:
    return "true" if value else "false"


def asset_json_text(a: FakeAsset, *, with_exif: bool) -> str:
    """``json.dumps(asset_json(a, with_exif=...))``, built directly (search pages are large)."""
    taken_iso = iso_ms(a.sort_ms)
    created_ms = a.created_ms
    local_iso = iso_ms(a.sort_ms + a.utc_offset_minutes * 60_000) if a.utc_offset_minutes else taken_iso
    name = _encode(a.original_file_name)
    text = (
        f'{{"id":"{a.id}","createdAt":"{iso_ms(created_ms)}",'
        f'"deviceAssetId":{name[:-1]}-{a.size}",'
        f'"ownerId":"{a.owner_id}","deviceId":"fake-phone-7c1e","libraryId":null,'
        f'"type":"{a.type}","originalPath":"{a.original_path}",'
        f'"originalFileName":{name},"originalMimeType":"{a.mime_type}",'
        f'"thumbhash":"{solid_thumbhash(PALETTE[a.color], a.width >= a.height)}",'
        f'"fileCreatedAt":"{taken_iso}","fileModifiedAt":"{taken_iso}",'
        f'"localDateTime":"{local_iso}","updatedAt":"{iso_ms(created_ms + 3_600_000)}",'
        f'"isFavorite":{_b(a.is_favorite)},"isArchived":{_b(a.is_archived)},'
        f'"isTrashed":{_b(a.is_trashed)},"isOffline":false,'
        f'"visibility":"{"archive" if a.is_archived else "timeline"}",'
        f'"duration":"{a.duration or "0:00:00.00000"}","livePhotoVideoId":null,'
        f'"checksum":"{a.checksum}","isEdited":false,"duplicateId":null,"resized":true,'
        f'"hasMetadata":true,"width":{a.width},"height":{a.height}'
    )
    if not with_exif:
        return text + "}"
    video = a.type == "VIDEO"
    return (
        f'{text},"exifInfo":{{"make":{_s(a.make)},"model":{_s(a.model)},'
        f'"exifImageWidth":{a.width},"exifImageHeight":{a.height},"fileSizeInByte":{a.size},'
        f'"orientation":{"null" if video else chr(34) + "1" + chr(34)},'
        f'"dateTimeOriginal":{"null" if a.taken_at is None else chr(34) + taken_iso + chr(34)},'
        f'"modifyDate":"{taken_iso}","timeZone":{_s(a.time_zone)},"lensModel":null,'
        f'"fNumber":{"null" if video else "1.8"},"focalLength":{"null" if video else "5.7"},'
        f'"iso":{"null" if video else "100"},'
        f'"exposureTime":{"null" if video else chr(34) + "1/120" + chr(34)},'
        f'"latitude":{_n(a.latitude)},"longitude":{_n(a.longitude)},"city":{_s(a.city)},'
        f'"state":{_s(a.state)},"country":{_s(a.country)},"description":"",'
        f'"projectionType":null,"rating":null}}}}'
    )


# --------------------------------------------------------------------------------------------
# Original file contents: deterministic, random-access, generated on the fly
# --------------------------------------------------------------------------------------------

BLOCK = 65_536
_FTYP = {
    "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    "video/mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "video/quicktime": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",
}


def original_prefix(a: FakeAsset) -> bytes:
    """Leading bytes of the original: a real decodable JPEG for JPEG assets, else a file magic."""
    if a.mime_type == "image/jpeg":
        w, h = (160, 120) if a.width >= a.height else (120, 160)
        return solid_jpeg(w, h, a.rgb)
    return _FTYP.get(a.mime_type, b"")


def _filler_block(asset_id: str, index: int) -> bytes:
    return hashlib.shake_256(f"{asset_id}:{index}".encode()).digest(BLOCK)


def iter_original(a: FakeAsset, start: int, end: int, chunk: int = 262_144):
    """Yield the bytes start..end (inclusive) of the asset's original, in chunks."""
    prefix = original_prefix(a)
    pos = start
    while pos <= end:
        if pos < len(prefix):
            piece = prefix[pos : min(len(prefix), end + 1)]
        else:
            index, offset = divmod(pos, BLOCK)
            take = min(BLOCK - offset, end + 1 - pos, chunk)
            piece = _filler_block(a.id, index)[offset : offset + take]
        pos += len(piece)
        yield piece


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
        asset = FakeAsset(
            id=asset_id,
            owner_key_user=self.user,
            owner_id=self.owner_id,
            type=kind,
            original_file_name=name,
            mime_type=mime,
            taken_at=None if no_exif_date else when,
            file_created_at=when,
            latitude=la,
            longitude=lo,
            city=city,
            country=country,
            is_trashed=trashed,
            size=size or default_size,
            state=state,
            time_zone=None if (no_exif_date or place is None) else place.time_zone,
            utc_offset_minutes=0 if (no_exif_date or place is None) else place.offset_min,
            make=make,
            model=model,
            width=w,
            height=h,
            duration=duration,
            is_favorite=(rng.random() < 0.08) if favorite is None else favorite,
            is_archived=archived,
            created_ms=ms_of(when) + rng.randint(60, 86_400 * 3) * 1000,
            sort_ms=ms_of(when),
            color=color_of(asset_id),
            ext=ext.lower(),
        )
        self.assets.append(asset)
        return asset


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
                asset_id,
                user,
                owner_id,
                "IMAGE",
                f"BULK_{i:06d}.jpg",
                "image/jpeg",
                when,
                when,
                round(lat, 6),
                round(lon, 6),
                None,
                None,
                False,
                2_000_000 + int(h[26:32], 16) % 4_194_304,
                None,
                "UTC",
                0,
                "Apple",
                "iPhone 13 Pro",
                4032,
                3024,
                None,
                False,
                False,
                ms + 3_600_000,
                ms,
                int(h[7], 16) % npal,
            )
        )
    return out
