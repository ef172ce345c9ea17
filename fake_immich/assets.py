"""The fake's asset record, its JSON as Immich serves it, and its original's bytes."""

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

from .accounts import USERS
from .images import PALETTE, solid_jpeg, solid_thumbhash

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
    """One asset and its exif row. Treated as immutable: a change replaces the object."""

    id: str
    owner_key_user: str  # "alice" | "bob"
    owner_id: str
    type: str  # "IMAGE" | "VIDEO"
    original_file_name: str
    mime_type: str
    taken_at: datetime | None  # exif dateTimeOriginal (aware, UTC) or None
    file_created_at: datetime  # aware, UTC; equals taken_at until an edit is only in the exif
    latitude: float | None
    longitude: float | None
    city: str | None
    country: str | None
    is_trashed: bool
    size: int  # bytes of the original
    state: str | None = None
    time_zone: str | None = None  # exif timeZone, e.g. "UTC+1" or "Asia/Tokyo"
    utc_offset_minutes: int = 0  # localDateTime - fileCreatedAt
    make: str | None = None
    model: str | None = None
    width: int = 4032
    height: int = 3024
    duration: str | None = None  # videos: "0:00:12.345000"
    is_favorite: bool = False
    visibility: str = "timeline"  # "timeline" | "archive" | "hidden" | "locked"
    created_ms: int = 0  # upload time (ms since epoch)
    sort_ms: int = 0  # fileCreatedAt in ms; the search order key
    color: int = 0  # palette index of its thumbnails
    ext: str = ".jpg"  # extension of the stored original
    updated_ms: int = 0  # the asset row's updatedAt; 0: an hour after the upload
    deleted_ms: int | None = None  # deletedAt, set while trashed; None: 30 days after the upload
    description: str = ""  # exif description
    rating: int | None = None  # exif rating
    has_thumbhash: bool = True  # False: thumbnails not generated yet, thumbhash null
    live_photo_video_id: str | None = None
    duplicate_id: str | None = None
    # Where the asset really was when it has no GPS: never served, for location-history tests.
    true_latitude: float | None = None
    true_longitude: float | None = None
    _checksum: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if not self.updated_ms:
            self.updated_ms = self.created_ms + 3_600_000
        if self.is_trashed and self.deleted_ms is None:
            self.deleted_ms = self.created_ms + 86_400_000 * 30

    @property
    def taken(self) -> datetime:
        """The time Immich searches, sorts and buckets by: fileCreatedAt (the dateTimeOriginal
        that metadata extraction found, else the file's own time)."""
        return self.file_created_at

    @property
    def local_ms(self) -> int:
        """localDateTime in ms: the wall-clock time where it was taken, written as if UTC."""
        return self.sort_ms + self.utc_offset_minutes * 60_000

    @property
    def is_archived(self) -> bool:
        return self.visibility == "archive"

    @property
    def thumbhash(self) -> str | None:
        return solid_thumbhash(PALETTE[self.color], self.width >= self.height) if self.has_thumbhash else None

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


def _exif_taken_iso(a: FakeAsset, taken_iso: str) -> str | None:
    """exif dateTimeOriginal: fileCreatedAt's text, unless an edit moved only the exif."""
    if a.taken_at is None:
        return None
    return taken_iso if a.taken_at == a.file_created_at else iso_ms(ms_of(a.taken_at))


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
        "dateTimeOriginal": _exif_taken_iso(a, taken_iso),
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
        "description": a.description,
        "projectionType": None,
        "rating": a.rating,
    }


def asset_json(a: FakeAsset, *, with_exif: bool, detail: bool = False) -> dict:
    taken_iso = iso_ms(a.sort_ms)
    out: dict = {
        "id": a.id,
        "createdAt": iso_ms(a.created_ms),
        "deviceAssetId": f"{a.original_file_name}-{a.size}",
        "ownerId": a.owner_id,
        "deviceId": "fake-phone-7c1e",
        "libraryId": None,
        "type": a.type,
        "originalPath": a.original_path,
        "originalFileName": a.original_file_name,
        "originalMimeType": a.mime_type,
        "thumbhash": a.thumbhash,
        "fileCreatedAt": taken_iso,
        "fileModifiedAt": taken_iso,
        "localDateTime": iso_ms(a.local_ms) if a.utc_offset_minutes else taken_iso,
        "updatedAt": iso_ms(a.updated_ms),
        "isFavorite": a.is_favorite,
        "isArchived": a.is_archived,
        "isTrashed": a.is_trashed,
        "isOffline": False,
        "visibility": a.visibility,
        "duration": a.duration or "0:00:00.00000",
        "livePhotoVideoId": a.live_photo_video_id,
        "checksum": a.checksum,
        "isEdited": False,
        "duplicateId": a.duplicate_id,
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
    local_iso = iso_ms(a.local_ms) if a.utc_offset_minutes else taken_iso
    name = _encode(a.original_file_name)
    text = (
        f'{{"id":"{a.id}","createdAt":"{iso_ms(a.created_ms)}",'
        f'"deviceAssetId":{name[:-1]}-{a.size}",'
        f'"ownerId":"{a.owner_id}","deviceId":"fake-phone-7c1e","libraryId":null,'
        f'"type":"{a.type}","originalPath":"{a.original_path}",'
        f'"originalFileName":{name},"originalMimeType":"{a.mime_type}",'
        f'"thumbhash":{_s(a.thumbhash)},'
        f'"fileCreatedAt":"{taken_iso}","fileModifiedAt":"{taken_iso}",'
        f'"localDateTime":"{local_iso}","updatedAt":"{iso_ms(a.updated_ms)}",'
        f'"isFavorite":{_b(a.is_favorite)},"isArchived":{_b(a.visibility == "archive")},'
        f'"isTrashed":{_b(a.is_trashed)},"isOffline":false,'
        f'"visibility":"{a.visibility}",'
        f'"duration":"{a.duration or "0:00:00.00000"}","livePhotoVideoId":{_s(a.live_photo_video_id)},'
        f'"checksum":"{a.checksum}","isEdited":false,"duplicateId":{_s(a.duplicate_id)},"resized":true,'
        f'"hasMetadata":true,"width":{a.width},"height":{a.height}'
    )
    if not with_exif:
        return text + "}"
    video = a.type == "VIDEO"
    return (
        f'{text},"exifInfo":{{"make":{_s(a.make)},"model":{_s(a.model)},'
        f'"exifImageWidth":{a.width},"exifImageHeight":{a.height},"fileSizeInByte":{a.size},'
        f'"orientation":{"null" if video else chr(34) + "1" + chr(34)},'
        f'"dateTimeOriginal":{_s(_exif_taken_iso(a, taken_iso))},'
        f'"modifyDate":"{taken_iso}","timeZone":{_s(a.time_zone)},"lensModel":null,'
        f'"fNumber":{"null" if video else "1.8"},"focalLength":{"null" if video else "5.7"},'
        f'"iso":{"null" if video else "100"},'
        f'"exposureTime":{"null" if video else chr(34) + "1/120" + chr(34)},'
        f'"latitude":{_n(a.latitude)},"longitude":{_n(a.longitude)},"city":{_s(a.city)},'
        f'"state":{_s(a.state)},"country":{_s(a.country)},"description":{_s(a.description)},'
        f'"projectionType":null,"rating":{_n(a.rating)}}}}}'
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
