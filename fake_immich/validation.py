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


def js_date_ms(value: object) -> int | None:
    """``new Date(value)`` in milliseconds (server in UTC), or None when it is an invalid date."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) and abs(value) <= 8.64e15 else None
    if not isinstance(value, str):
        return None
    s = value.strip()
    m = _ISO_RE.match(s)
    if m:
        try:
            year = int(m["y"])
            frac = (m["f"] or "0")[:3].ljust(3, "0")
            dt = datetime(
                year,
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
        ms = ms_of(dt)
        tz = m["tz"]
        if tz and tz.upper() != "Z":
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            ms -= sign * (int(digits[:2]) * 60 + int(digits[2:])) * 60_000
        return ms
    dt = parse_http_date(s)
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
    dto: dict = {}
    errors: list[str] = []
    for name, check in _METADATA_SEARCH_FIELDS:
        if name not in body:
            continue
        errs, value = check(name, body[name])
        if errs:
            errors.extend(errs)
        else:
            dto[name] = value
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
