"""What the map draws, computed on the server so the browser never holds more than the
view needs: clusters for a viewport and zoom, a histogram of capture times for the time
scrubber, and the photos of a view or a cluster a page at a time.

Everything runs over columns (numpy arrays of ids, coordinates and times), a few bytes a
photo, so 500,000 photos cluster in milliseconds. Clustering is a grid in Web Mercator
pixels at the zoom (as Leaflet draws them): counts are exact, and a view that crosses the
antimeridian shifts longitudes into its own span, so photos either side of it cluster
together instead of splitting to opposite edges.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from service.photos.geo import Circle, rounded, within_mask
from service.photos.search import InvalidQuery, SearchQuery, parse_query

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

CELL_PX = 60  # a cluster's cell, in screen pixels at the zoom
MAX_DENSE_CELLS = 1_000_000  # cells of a view counted in one array (8 MB) rather than sorted
MAX_MERCATOR_LAT = 85.0511287798
DAY_MS = 86_400_000
PACK_MAGIC = b"PAMC0001"  # packed map columns, format 1
PACKED_TYPES = (np.dtype(np.float64), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.int64), np.dtype("S36"))
PACKED_ROW_BYTES = sum(dtype.itemsize for dtype in PACKED_TYPES)
PAGE_LIMIT = 500


@dataclass(frozen=True)
class MapColumns:
    """The photos of a range as parallel arrays, sorted by capture time, then id."""

    ids: npt.NDArray[np.bytes_]
    latitudes: Floats  # NaN without a position
    longitudes: Floats
    taken_ms: Ints
    created_ms: Ints  # Immich's fileCreatedAt: what a date range selects by

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def from_photos(cls, photos: list[dict[str, Any]]) -> MapColumns:
        rows = []
        for photo in photos:
            taken = _iso_ms(photo["takenAt"])  # the live search has already selected the range by it
            rows.append((photo["id"], photo["latitude"], photo["longitude"], taken, taken))
        return cls.from_rows(rows)

    def take(self, indices: Any) -> MapColumns:
        return MapColumns(self.ids[indices], self.latitudes[indices], self.longitudes[indices],
                          self.taken_ms[indices], self.created_ms[indices])

    def within(self, start_ms: int, end_ms: int) -> MapColumns:
        """The photos whose fileCreatedAt is in [start, end], as a search selects them (these
        very columns when that is all of them: "All time" copies nothing)."""
        selected = np.flatnonzero((self.created_ms >= start_ms) & (self.created_ms <= end_ms))
        return self if selected.size == len(self) else self.take(selected)

    @property
    def nbytes(self) -> int:
        return sum(int(array.nbytes) for array in (self.ids, self.latitudes, self.longitudes, self.taken_ms,
                                                    self.created_ms))

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]]) -> MapColumns:
        """Columns of (id, latitude, longitude, taken_ms, created_ms) rows."""
        count = len(rows)
        ids, latitudes, longitudes, taken, created = zip(*rows, strict=True) if rows else ((),) * 5
        return cls(
            ids=np.array(ids, dtype="S36").reshape(count),
            # numpy reads None as NaN in a float array: no position.
            latitudes=np.array(latitudes, dtype=np.float64).reshape(count),
            longitudes=np.array(longitudes, dtype=np.float64).reshape(count),
            taken_ms=np.array(taken, dtype=np.int64).reshape(count),
            created_ms=np.array(created, dtype=np.int64).reshape(count),
        )

    def fill(self, offset: int, part: MapColumns) -> int:
        """Copy a part's photos into these columns from `offset`; the offset after them."""
        end = offset + len(part)
        if end > len(self):
            raise ValueError("the part does not fit")
        for mine, theirs in zip(self._arrays(), part._arrays(), strict=True):
            mine[offset:end] = theirs
        return end

    def pack(self) -> bytes:
        """Every column in one value: a header with the count, then each array's bytes (the
        numbers first, so each starts on an 8-byte boundary, then the ids)."""
        return PACK_MAGIC + np.uint64(len(self)).tobytes() + b"".join(array.tobytes() for array in self._arrays())

    def _arrays(self) -> tuple[Any, ...]:
        return self.latitudes, self.longitudes, self.taken_ms, self.created_ms, self.ids

    @classmethod
    def allocate(cls, count: int) -> MapColumns:
        """Columns for `count` photos, to fill: views of one buffer, which they keep alive."""
        header = PACK_MAGIC + np.uint64(count).tobytes()
        buffer = bytearray(len(header) + count * PACKED_ROW_BYTES)
        buffer[:len(header)] = header
        return cls._views(buffer, count)

    @classmethod
    def unpack(cls, packed: bytes) -> MapColumns:
        """The columns of a packed value, as views of it: nothing is copied."""
        header = len(PACK_MAGIC) + 8
        if len(packed) < header or packed[:len(PACK_MAGIC)] != PACK_MAGIC:
            raise ValueError("not packed map columns")
        count = int(np.frombuffer(packed, dtype=np.uint64, count=1, offset=len(PACK_MAGIC))[0])
        if len(packed) != header + count * PACKED_ROW_BYTES:
            raise ValueError("packed map columns of the wrong length")
        return cls._views(packed, count)

    @classmethod
    def _views(cls, packed: bytes | bytearray, count: int) -> MapColumns:
        # The numbers first, each on an 8-byte boundary after the 16-byte header, then the ids.
        offset = len(PACK_MAGIC) + 8
        arrays: list[Any] = []
        for dtype in PACKED_TYPES:
            arrays.append(np.frombuffer(packed, dtype=dtype, count=count, offset=offset))
            offset += count * dtype.itemsize
        latitudes, longitudes, taken, created, ids = arrays
        return cls(ids=ids, latitudes=latitudes, longitudes=longitudes, taken_ms=taken, created_ms=created)


class Measured(Protocol):
    @property
    def nbytes(self) -> int: ...


Held = TypeVar("Held", bound=Measured)


class ColumnsCache(Generic[Held]):
    """Something read from each user's whole index (the map's columns, the search's encoded
    photos), per process, for the settings version and rows it was read at; the least
    recently used goes first past `max_bytes`. Requests that need the same entry at once wait
    for one read instead of each making its own."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Any, Held] = OrderedDict()
        self._loading: dict[Any, threading.Lock] = {}

    def get_or_load(self, key: Any, load: Callable[[], Held]) -> Held:
        found = self._get(key)
        if found is not None:
            return found
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            found = self._get(key)  # read by the request this one waited for
            if found is not None:
                return found
            try:
                loaded = load()
            except BaseException:
                with self._lock:
                    self._loading.pop(key, None)
                raise
            with self._lock:
                self._entries[key] = loaded
                self._loading.pop(key, None)
                while sum(c.nbytes for c in self._entries.values()) > self.max_bytes and len(self._entries) > 1:
                    self._entries.popitem(last=False)
        return loaded

    def _get(self, key: Any) -> Held | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found


@dataclass(frozen=True)
class Scope:
    """The part of a library a map answer covers, and how exactly it may place a photo.

    The default is the owner's own map: every photo as it is. A share narrows it to its range
    and circle (a photo without a position is never inside one), leaves out every photo in an
    excluded circle (a privacy zone), and rounds coordinates to `decimals` before anything
    (a cluster's place, its bounds, the cell it falls in) is computed from them."""

    start: datetime | None = None
    end: datetime | None = None
    circle: Circle | None = None
    excluded: tuple[Circle, ...] = ()
    decimals: int | None = None

    def loaded_range(self, asked: SearchQuery) -> SearchQuery:
        """What to load for the asked dates: the part of them inside the scope's range (the
        scope's whole range when the two do not meet, and `apply` then keeps nothing)."""
        start, end = self._overlap(asked)
        if start > end:
            start, end = self.start or asked.start, self.end or asked.end
        return SearchQuery(start, end, None)

    def keeps(self, latitudes: Floats, longitudes: Floats) -> Mask:
        """For each position, whether the scope shows it (NaN: only without a circle)."""
        keep = np.ones(latitudes.shape, dtype=bool) if self.circle is None else \
            within_mask(latitudes, longitudes, self.circle)
        for excluded in self.excluded:
            keep &= ~within_mask(latitudes, longitudes, excluded)
        return keep

    def apply(self, columns: MapColumns, asked: SearchQuery) -> MapColumns:
        """The columns of `loaded_range(asked)` narrowed to the scope and placed at its precision."""
        if self == WHOLE_LIBRARY:
            return columns
        start, end = self._overlap(asked)
        if start > end:
            return columns.take(np.zeros(0, dtype=np.int64))
        found = columns.take(np.flatnonzero(self.keeps(columns.latitudes, columns.longitudes)))
        if self.decimals is None:
            return found
        return dataclasses.replace(found, latitudes=rounded(found.latitudes, self.decimals),
                                   longitudes=rounded(found.longitudes, self.decimals))

    def _overlap(self, asked: SearchQuery) -> tuple[datetime, datetime]:
        start = asked.start if self.start is None else max(asked.start, self.start)
        end = asked.end if self.end is None else min(asked.end, self.end)
        return start, end


WHOLE_LIBRARY = Scope()


def _iso_ms(text: str | None) -> int:
    if not text:
        return np.iinfo(np.int64).max  # no time: after every other
    return int(np.datetime64(text.rstrip("Z"), "ms").astype(np.int64))


# ------------------------------------------------------------------ requests


@dataclass(frozen=True)
class Viewport:
    """A map view. West and east may lie outside ±180 (the map's unwrapped longitudes);
    east - west is at most 360."""

    west: float
    south: float
    east: float
    north: float
    zoom: int

    def shift(self, longitudes: Floats) -> Floats:
        """Each longitude moved by whole turns into [west, west + 360)."""
        return self.west + np.mod(longitudes - self.west, 360.0)

    def contains(self, latitudes: Floats, longitudes: Floats) -> tuple[Mask, Floats]:
        shifted = self.shift(longitudes)
        with np.errstate(invalid="ignore"):
            inside = (latitudes >= self.south) & (latitudes <= self.north) & (shifted <= self.east)
        return inside, shifted


@dataclass(frozen=True)
class MapQuery:
    range: SearchQuery
    viewport: Viewport | None
    cell: tuple[int, int] | None = None
    order: str = "desc"
    offset: int = 0
    limit: int = 100


def _number(args: Mapping[str, str], name: str, low: float, high: float) -> float:
    raw = args.get(name)
    try:
        value = float(raw) if raw not in (None, "") else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidQuery(f"{name} must be a number between {low:g} and {high:g}")
    return value


def _whole(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidQuery(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def parse_viewport(args: Mapping[str, str], *, required: bool) -> Viewport | None:
    names = ("west", "south", "east", "north")
    given = [name for name in names if args.get(name) not in (None, "")]
    if not given and not required:
        return None
    if len(given) != 4:
        raise InvalidQuery("west, south, east and north go together (the map's bounds)")
    west, east = _number(args, "west", -540, 540), _number(args, "east", -540, 540)
    south, north = _number(args, "south", -90, 90), _number(args, "north", -90, 90)
    if south > north:
        raise InvalidQuery("south must not be above north")
    if west > east:
        raise InvalidQuery("west must not be east of east (use longitudes beyond 180 across the antimeridian)")
    if east - west >= 360:
        west, east = -180.0, 180.0
    return Viewport(west, south, east, north, _whole(args, "zoom", 0, 0, 24))


def parse_map_query(args: Mapping[str, str], *, viewport_required: bool) -> MapQuery:
    search = parse_query({name: args[name] for name in ("startDate", "endDate") if name in args})
    viewport = parse_viewport(args, required=viewport_required)
    cell = None
    if args.get("cell"):
        parts = args["cell"].split(":")
        if len(parts) != 2 or not all(part.lstrip("-").isdigit() and len(part.lstrip("-")) <= 11 for part in parts):
            raise InvalidQuery("cell must be a cluster's cell, as the clusters give it (x:y)")
        if viewport is None:
            raise InvalidQuery("cell goes with the map's bounds and zoom")
        cell = (int(parts[0]), int(parts[1]))
    order = args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidQuery("order must be asc or desc")
    return MapQuery(search, viewport, cell, order, _whole(args, "offset", 0, 0, 10_000_000),
                    _whole(args, "limit", 100, 1, PAGE_LIMIT))


# ------------------------------------------------------------------ computing


def _pixels(latitudes: Floats, shifted: Floats, zoom: int) -> tuple[Floats, Floats]:
    scale = 256.0 * 2.0 ** zoom
    x = (shifted + 180.0) / 360.0 * scale
    lat = np.radians(np.clip(latitudes, -MAX_MERCATOR_LAT, MAX_MERCATOR_LAT))
    y = (1.0 - np.log(np.tan(lat) + 1.0 / np.cos(lat)) / math.pi) / 2.0 * scale
    return x, y


def _cells(columns: MapColumns, viewport: Viewport) -> tuple[Ints, Ints, Ints, Floats]:
    """(indices in view, their cell x, cell y, their shifted longitudes)."""
    inside, shifted = viewport.contains(columns.latitudes, columns.longitudes)
    indices = np.flatnonzero(inside)
    x, y = _pixels(columns.latitudes[indices], shifted[indices], viewport.zoom)
    return indices, np.floor(x / CELL_PX).astype(np.int64), np.floor(y / CELL_PX).astype(np.int64), shifted[indices]


def clusters(columns: MapColumns, viewport: Viewport, *, decimals: int | None = None) -> list[dict[str, Any]]:
    """One entry a grid cell holding photos: count, centre, bounds, the cell's key and its
    newest photo's id (a single photo is a cluster of one). With `decimals`, the centre and
    bounds are rounded too, so they say no more than the photos' rounded places do."""
    indices, cx, cy, shifted = _cells(columns, viewport)
    if indices.size == 0:
        return []
    inverse, counts = _groups(cx, cy)
    latitudes = columns.latitudes[indices]
    lat_sum = np.bincount(inverse, weights=latitudes)
    lon_sum = np.bincount(inverse, weights=shifted)
    groups = len(counts)
    west = np.full(groups, np.inf)
    east = np.full(groups, -np.inf)
    south = np.full(groups, np.inf)
    north = np.full(groups, -np.inf)
    np.minimum.at(west, inverse, shifted)
    np.maximum.at(east, inverse, shifted)
    np.minimum.at(south, inverse, latitudes)
    np.maximum.at(north, inverse, latitudes)
    # The newest photo of each cell: columns are sorted by time, so the last index wins.
    newest = np.zeros(groups, dtype=np.int64)
    np.maximum.at(newest, inverse, indices)
    first = np.zeros(groups, dtype=np.int64)
    first[inverse[::-1]] = np.arange(indices.size)[::-1]
    centre_lat, centre_lon = (rounded(values, decimals) for values in (lat_sum / counts, lon_sum / counts))
    west, south, east, north = (rounded(values, decimals) for values in (west, south, east, north))
    out = []
    for g in range(groups):
        member = first[g]
        out.append({
            "cell": f"{int(cx[member])}:{int(cy[member])}",
            "count": int(counts[g]),
            "latitude": float(centre_lat[g]),
            "longitude": float(centre_lon[g]),
            "bbox": [float(west[g]), float(south[g]), float(east[g]), float(north[g])],
            "photoId": columns.ids[newest[g]].decode(),
        })
    return out


def _groups(cx: Ints, cy: Ints) -> tuple[Ints, Ints]:
    """Each photo's group (its cell, numbered in the order of x, then y) and each group's
    count. The cells of a view span a few hundred at most, so a count per cell of that
    span numbers them without sorting the photos."""
    x0, y0 = int(cx.min()), int(cy.min())
    height = int(cy.max()) - y0 + 1
    span = (int(cx.max()) - x0 + 1) * height
    if span > MAX_DENSE_CELLS:  # a view of a whole world at a deep zoom: sort instead
        _, inverse, counts = np.unique(cx * 1_000_003 + cy, return_inverse=True, return_counts=True)
        return inverse.reshape(-1), counts
    dense = (cx - x0) * height + (cy - y0)
    per_cell = np.bincount(dense, minlength=span)
    occupied = per_cell > 0
    number = np.cumsum(occupied) - 1  # a cell's group: how many occupied cells come before it
    return number[dense], per_cell[occupied]


def in_view(columns: MapColumns, viewport: Viewport | None, cell: tuple[int, int] | None = None) -> Ints:
    """Indices of the photos in the view (all with a position when there is no view), or
    of one cluster's cell."""
    if viewport is None:
        return np.flatnonzero(~np.isnan(columns.latitudes))
    if cell is None:
        inside, _ = viewport.contains(columns.latitudes, columns.longitudes)
        return np.flatnonzero(inside)
    indices, cx, cy, _ = _cells(columns, viewport)
    return indices[(cx == cell[0]) & (cy == cell[1])]


def histogram(columns: MapColumns, indices: Ints, *, start_ms: int, end_ms: int) -> dict[str, Any]:
    """Photo counts over the range, in day, week or month bins by its span (UTC)."""
    span_days = (end_ms - start_ms) / DAY_MS
    unit = "day" if span_days <= 92 else "week" if span_days <= 3 * 366 else "month"
    taken = columns.taken_ms[indices]
    taken = taken[(taken >= start_ms) & (taken <= end_ms)]
    if unit == "month":
        first = np.datetime64(start_ms, "ms").astype("datetime64[M]")
        last = np.datetime64(end_ms, "ms").astype("datetime64[M]")
        edges = np.arange(first, last + 1).astype("datetime64[ms]").astype(np.int64)
    else:
        step = DAY_MS * (1 if unit == "day" else 7)
        # Weeks start on Monday: the epoch was a Thursday.
        origin = start_ms - (start_ms % DAY_MS) - ((start_ms // DAY_MS + 3) % 7 * DAY_MS if unit == "week" else 0)
        edges = np.arange(origin, end_ms + 1, step, dtype=np.int64)
    counts = np.bincount(np.searchsorted(edges, taken, side="right") - 1, minlength=len(edges))
    return {
        "unit": unit,
        "bins": [{"start": _iso(int(edge)), "count": int(n)} for edge, n in zip(edges, counts, strict=False)],
    }


def page(columns: MapColumns, indices: Ints, *, order: str, offset: int, limit: int) -> list[str]:
    """The ids of one page of the photos at `indices`, newest or oldest first."""
    ordered = indices[::-1] if order == "desc" else indices
    return [value.decode() for value in columns.ids[ordered[offset:offset + limit]]]


def _iso(ms: int) -> str:
    return str(np.datetime64(ms, "ms")) + "Z"
