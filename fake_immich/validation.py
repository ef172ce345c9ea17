"""Request validation that answers like Immich 2.7's DTO validation (NestJS + class-validator).

Messages, their order and the conversions (``@Type(() => Number)`` for ``size``/``page``,
``'true'``/``'false'`` strings for booleans, ``''`` -> ``null`` for the place filters) follow the
server; unknown properties are stripped silently (``whitelist: true``), as Immich does.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .assets import ms_of

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)

ASSET_TYPES = ("IMAGE", "VIDEO", "AUDIO", "OTHER")
VISIBILITIES = ("archive", "timeline", "hidden", "locked")
ORDERS = ("asc", "desc")
MEDIA_SIZES = ("original", "fullsize", "preview", "thumbnail")

_NAN = float("nan")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ISO_RE = re.compile(
    r"^(?P<y>[+-]\d{6}|\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2}))?)?"
    r"(?:T(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?$",
    re.IGNORECASE,
)


def is_uuid4(value: object) -> bool:
    return isinstance(value, str) and bool(UUID4_RE.match(value))


def js_number(value: object) -> float | int | None:
    """``Number(value)`` as class-transformer's ``@Type(() => Number)`` does; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s == "":
            return 0
        if _NUMBER_RE.match(s):
            f = float(s)
            return int(f) if f.is_integer() and abs(f) < 2**53 else f
        if re.fullmatch(r"[+-]?Infinity", s):
            return -math.inf if s.startswith("-") else math.inf
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
            return int(s, 16)
        return _NAN
    return _NAN


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v)


def _is_int(v: object) -> bool:
    return _is_number(v) and math.isfinite(v) and float(v).is_integer()  # type: ignore[arg-type]


def iso_date_parts(value: str) -> tuple[int, int | None] | None:
    """An ISO 8601 date-time: (ms since the epoch, the offset it was written with in minutes, or
    None when it has no zone and is read as UTC, as the server is). None when it is not one."""
    m = _ISO_RE.match(value.strip())
    if not m:
        return None
    try:
        frac = (m["f"] or "0")[:3].ljust(3, "0")
        dt = datetime(
            int(m["y"]),
            int(m["mo"] or 1),
            int(m["d"] or 1),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            int(m["s"] or 0),
            int(frac) * 1000,
            tzinfo=UTC,
        )
    except ValueError:
        return None
    tz = m["tz"]
    if not tz:
        return ms_of(dt), None
    offset = 0
    if tz.upper() != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    return ms_of(dt) - offset * 60_000, offset


def js_date_ms(value: object) -> int | None:
    """``new Date(value)`` in milliseconds (server in UTC), or None when it is an invalid date."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) and abs(value) <= 8.64e15 else None
    if not isinstance(value, str):
        return None
    parts = iso_date_parts(value)
    if parts is not None:
        return parts[0]
    dt = parse_http_date(value.strip())
    return None if dt is None else ms_of(dt)


def parse_http_date(value: str) -> datetime | None:
    """An RFC 7231 date (as in If-Modified-Since), timezone-aware, or None."""
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# ---- field kinds ---------------------------------------------------------------------------


def _check_uuid(name, value, *, nullable=False, each=False):
    if value is None and nullable:
        return [], None
    errors = []
    if each:
        items = value if isinstance(value, list) else [value]
        if not all(is_uuid4(v) for v in items):
            errors.append(f"each value in {name} must be a UUID")
        if not isinstance(value, list):
            errors.append(f"{name} must be an array")
    else:
        if not is_uuid4(value):
            errors.append(f"{name} must be a UUID")
        if not isinstance(value, str):
            errors.append(f"{name} must be a string")
    return errors, value


def _check_bool(name, value):
    if value == "true":
        value = True
    elif value == "false":
        value = False
    if not isinstance(value, bool):
        return [f"{name} must be a boolean value"], None
    return [], value


def _check_date(name, value):
    ms = None if value is None else js_date_ms(value)
    if ms is None:
        return [f"{name} must be a Date instance"], None
    return [], ms


def _check_enum(name, value, allowed):
    if value not in allowed:
        return [f"{name} must be one of the following values: {', '.join(allowed)}"], None
    return [], value


def _check_string(name, value, *, not_empty=True):
    errors = []
    if not_empty and (value is None or value == ""):
        errors.append(f"{name} should not be empty")
    if not isinstance(value, str):
        errors.append(f"{name} must be a string")
    return errors, value


def _check_nullable_string(name, value, *, not_empty=False):
    if value == "":
        value = None
    if value is None:
        return [], None
    errors = []
    if not isinstance(value, str):
        errors.append(f"{name} must be a string")
    return errors, value


def _check_int(name, value, *, minimum=None, maximum=None, convert=True, nullable=False):
    if value is None and nullable:
        return [], None
    v = js_number(value) if convert else value
    errors = []
    # class-validator reports the decorators bottom-up: @Max, then @Min, then @IsInt.
    if maximum is not None and not (_is_number(v) and v <= maximum):
        errors.append(f"{name} must not be greater than {maximum}")
    if minimum is not None and not (_is_number(v) and v >= minimum):
        errors.append(f"{name} must not be less than {minimum}")
    if not _is_int(v):
        errors.append(f"{name} must be an integer number")
    return errors, (int(v) if not errors else None)


# (property, checker) in the order the DTO classes declare them.
_METADATA_SEARCH_FIELDS = (
    ("libraryId", lambda n, v: _check_uuid(n, v, nullable=True)),
    ("deviceId", _check_string),
    ("type", lambda n, v: _check_enum(n, v, ASSET_TYPES)),
    ("isEncoded", _check_bool),
    ("isFavorite", _check_bool),
    ("isMotion", _check_bool),
    ("isOffline", _check_bool),
    ("visibility", lambda n, v: _check_enum(n, v, VISIBILITIES)),
    ("createdBefore", _check_date),
    ("createdAfter", _check_date),
    ("updatedBefore", _check_date),
    ("updatedAfter", _check_date),
    ("trashedBefore", _check_date),
    ("trashedAfter", _check_date),
    ("takenBefore", _check_date),
    ("takenAfter", _check_date),
    ("city", _check_nullable_string),
    ("state", _check_nullable_string),
    ("country", _check_nullable_string),
    ("make", _check_nullable_string),
    ("model", _check_nullable_string),
    ("lensModel", _check_nullable_string),
    ("isNotInAlbum", _check_bool),
    ("personIds", lambda n, v: _check_uuid(n, v, each=True)),
    ("tagIds", lambda n, v: _check_uuid(n, v, each=True, nullable=True)),
    ("albumIds", lambda n, v: _check_uuid(n, v, each=True)),
    ("rating", lambda n, v: _check_int(n, v, minimum=-1, maximum=5, convert=False, nullable=True)),
    ("ocr", _check_string),
    ("withDeleted", _check_bool),
    ("withExif", _check_bool),
    ("size", lambda n, v: _check_int(n, v, minimum=1, maximum=1000)),
    ("withStacked", _check_bool),
    ("withPeople", _check_bool),
    ("id", _check_uuid),
    ("deviceAssetId", _check_string),
    ("description", lambda n, v: _check_string(n, v, not_empty=False)),
    ("checksum", _check_string),
    ("originalFileName", lambda n, v: _check_string(n, v, not_empty=False)),
    ("originalPath", _check_string),
    ("previewPath", _check_string),
    ("thumbnailPath", _check_string),
    ("encodedVideoPath", _check_string),
    ("order", lambda n, v: _check_enum(n, v, ORDERS)),
    ("page", lambda n, v: _check_int(n, v, minimum=1)),
)


def validate_metadata_search(body: dict) -> tuple[dict, list[str]]:
    """Return (normalised dto, error messages). Absent properties are left out of the dto."""
    dto, errors = _validate(body, _METADATA_SEARCH_FIELDS)
    if isinstance(dto.get("description"), str):
        dto["description"] = dto["description"].strip()
    if isinstance(dto.get("originalFileName"), str):
        dto["originalFileName"] = dto["originalFileName"].strip()
    return dto, errors


def validate_media_query(query: dict, *, with_size: bool) -> tuple[dict, list[str]]:
    dto: dict = {}
    errors: list[str] = []
    if "edited" in query:
        errs, value = _check_bool("edited", query["edited"])
        errors.extend(errs)
        dto["edited"] = value
    if with_size and "size" in query:
        errs, value = _check_enum("size", query["size"], MEDIA_SIZES)
        errors.extend(errs)
        dto["size"] = value
    return dto, errors


# ---- timeline and statistics queries -----------------------------------------------------------

_UUID_QUERY = ("userId", "albumId", "personId", "tagId")
_BOOL_QUERY = ("isFavorite", "isTrashed", "withStacked", "withPartners")


def _check_bbox(name, value):
    parts = value.split(",") if isinstance(value, str) else []
    if len(parts) != 4:
        return [f"{name} must have 4 comma-separated numbers: west,south,east,north"], None
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        return [f"{name} parts must be valid numbers"], None
    return [], (west, south, east, north)


def validate_timeline_query(query: dict, *, with_time_bucket: bool) -> tuple[dict, list[str]]:
    """TimeBucketDto (and TimeBucketAssetDto with ``timeBucket``) from query parameters."""
    checks: list[tuple[str, object]] = [(name, _check_uuid) for name in _UUID_QUERY]
    checks += [(name, _check_bool) for name in _BOOL_QUERY]
    checks += [
        ("order", lambda n, v: _check_enum(n, v, ORDERS)),
        ("visibility", lambda n, v: _check_enum(n, v, VISIBILITIES)),
        ("withCoordinates", _check_bool),
        ("bbox", _check_bbox),
    ]
    dto, errors = _validate(query, checks)
    if with_time_bucket:
        if "timeBucket" in query:
            dto["timeBucket"] = query["timeBucket"]
        else:
            errors.append("timeBucket must be a string")
    return dto, errors


def validate_statistics_query(query: dict) -> tuple[dict, list[str]]:
    """AssetStatsDto from query parameters."""
    checks = [
        ("visibility", lambda n, v: _check_enum(n, v, VISIBILITIES)),
        ("isFavorite", _check_bool),
        ("isTrashed", _check_bool),
    ]
    return _validate(query, checks)


# ---- asset updates --------------------------------------------------------------------------

_LATITUDE_RE = re.compile(r"^\(?[+-]?(90(\.0+)?|[1-8]?\d(\.\d+)?)$")
_LONGITUDE_RE = re.compile(r"^\s?[+-]?(180(\.0+)?|1[0-7]\d(\.\d+)?|\d{1,2}(\.\d+)?)\)?$")


def _js_string(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_coordinate(name, value, *, pattern, what):
    # @ValidateIf(latitude or longitude given) @IsLatitude() @IsNotEmpty(), reported bottom-up.
    errors = []
    if value is None or value == "":
        errors.append(f"{name} should not be empty")
    ok = (isinstance(value, int | float) and not isinstance(value, bool)) or isinstance(value, str)
    if not ok or not pattern.match(_js_string(value)):
        errors.append(f"{name} must be a {what} string or number")
    return errors, None if errors else float(value)  # type: ignore[arg-type]


def _check_date_string(name, value):
    parts = iso_date_parts(value) if isinstance(value, str) else None
    if parts is None:
        return [f"{name} must be a valid ISO 8601 date string"], None
    return [], value


def _check_rating(name, value):
    # @Optional({ nullable: true }) @IsInt() @Max(5) @Min(-1), with 0 read as "no rating".
    if value is None or value == 0:
        return [], None
    errors = []
    if not (_is_number(value) and value >= -1):
        errors.append(f"{name} must not be less than -1")
    if not (_is_number(value) and value <= 5):
        errors.append(f"{name} must not be greater than 5")
    if not _is_int(value):
        errors.append(f"{name} must be an integer number")
    return errors, None if errors else int(value)  # type: ignore[arg-type]


def _check_optional_string(name, value):
    return ([], value) if isinstance(value, str) else ([f"{name} must be a string"], None)


def _check_time_zone(name, value):
    try:
        valid = isinstance(value, str) and bool(value) and ZoneInfo(value) is not None
    except (ZoneInfoNotFoundError, ValueError):
        valid = False
    return ([], value) if valid else ([f"{name} must be a valid IANA time-zone"], None)


def _not_beside_date(check, body: dict):
    """@IsNotSiblingOf(['dateTimeOriginal']) on top of ``check``."""

    def checked(name, value):
        errors, value = check(name, value)
        if body.get("dateTimeOriginal") is not None:
            errors.append(f"{name} cannot exist alongside any of the following properties: dateTimeOriginal")
        return errors, value

    return checked


def _update_checks(body: dict) -> list[tuple[str, object]]:
    """UpdateAssetBase, in declaration order."""
    gps = "latitude" in body or "longitude" in body
    checks: list[tuple[str, object]] = [
        ("isFavorite", _check_bool),
        ("visibility", lambda n, v: _check_enum(n, v, VISIBILITIES)),
        ("dateTimeOriginal", _check_date_string),
        ("rating", _check_rating),
        ("description", _check_optional_string),
    ]
    if gps:  # @ValidateIf(hasGPS): either one given validates both
        checks[3:3] = [
            ("latitude", lambda n, v: _check_coordinate(n, v, pattern=_LATITUDE_RE, what="latitude")),
            ("longitude", lambda n, v: _check_coordinate(n, v, pattern=_LONGITUDE_RE, what="longitude")),
        ]
    return checks


def validate_asset_update(body: dict) -> tuple[dict, list[str]]:
    """UpdateAssetDto (``PUT /assets/{id}``)."""
    checks = _update_checks(body) + [("livePhotoVideoId", lambda n, v: _check_uuid(n, v, nullable=True))]
    return _validate(body, checks, required=("latitude", "longitude"))


def validate_asset_bulk_update(body: dict) -> tuple[dict, list[str]]:
    """AssetBulkUpdateDto (``PUT /assets``)."""
    checks = [("ids", lambda n, v: _check_uuid(n, v, each=True)), *_update_checks(body)]
    checks += [
        ("duplicateId", lambda n, v: ([], v)),
        ("dateTimeRelative", _not_beside_date(lambda n, v: _check_int(n, v, convert=False), body)),
        ("timeZone", _not_beside_date(_check_time_zone, body)),
    ]
    return _validate(body, checks, required=("ids", "latitude", "longitude"))


def _validate(source: dict, checks, *, required: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """Run (name, check) in order over the given properties, and over ``required`` ones even
    when absent. Returns (dto of the valid given properties, error messages)."""
    dto: dict = {}
    errors: list[str] = []
    for name, check in checks:
        if name not in source and name not in required:
            continue
        value = source.get(name)
        errs, value = check(name, value)
        if errs:
            errors.extend(errs)
        elif name in source:
            dto[name] = value
    return dto, errors
