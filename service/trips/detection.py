"""Trips found in a library by themselves: pure functions over arrays, no database.

Home is where most nights are spent: the most common ~25 km cell of each local day's last
photo with GPS. A day is away when one of its photos lies more than the minimum distance
from home; consecutive away days make a trip, and one day without any GPS photo may lie
between two of them. The user's merges and splits are replayed over what is found."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from service.tracks.positions import distance_m

DAY_MS = 86_400_000
CELL_DEGREES = 0.225  # about 25 km of latitude
MAX_COVERS = 4

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LibraryPhotos:
    """The index's images, sorted by time; NaN coordinates where a photo has no GPS."""

    ids: list[str]
    times: Ints  # fileCreatedAt, ms since the epoch, UTC
    offsets: Ints  # local UTC offset at capture, minutes (0 when unknown)
    latitudes: Floats
    longitudes: Floats
    cities: list[str | None]
    countries: list[str | None]
    favorites: npt.NDArray[np.bool_]

    @property
    def days(self) -> Ints:
        """Each photo's local calendar day, as days since 1970-01-01."""
        result: Ints = (self.times + self.offsets * 60_000) // DAY_MS
        return result


@dataclass(eq=False)
class TripSpan:
    photos: Ints  # indices into LibraryPhotos, sorted
    from_split: bool = False
    away: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


def home_of(photos: LibraryPhotos) -> tuple[float, float] | None:
    """The middle of the most common cell of the last GPS photo of each local day."""
    gps = np.flatnonzero(~np.isnan(photos.latitudes))
    if gps.size == 0:
        return None
    days = photos.days[gps]
    last = gps[np.r_[days[1:] != days[:-1], True]] if gps.size > 1 else gps
    lat, lon = photos.latitudes[last], photos.longitudes[last]
    band = np.floor(lat / CELL_DEGREES)
    width = CELL_DEGREES / np.maximum(np.cos(np.radians((band + 0.5) * CELL_DEGREES)), 0.01)
    cells = Counter(zip(band.tolist(), np.floor((lon + 180) / width).tolist(), strict=True))
    (best_band, best_cell), _ = cells.most_common(1)[0]
    inside = (band == best_band) & (np.floor((lon + 180) / width) == best_cell)
    return float(np.median(lat[inside])), float(np.median(lon[inside]))


def detect(photos: LibraryPhotos, *, min_km: float) -> tuple[list[TripSpan], npt.NDArray[np.bool_]]:
    """The trips, and for every photo whether it lies away from home (False without GPS)."""
    size = len(photos.ids)
    home = home_of(photos)
    if home is None:
        return [], np.zeros(size, dtype=bool)
    gps = ~np.isnan(photos.latitudes)
    distance = np.full(size, np.nan)
    distance[gps] = distance_m(np.full(int(gps.sum()), home[0]), np.full(int(gps.sum()), home[1]),
                               photos.latitudes[gps], photos.longitudes[gps])
    away = gps & (distance > min_km * 1000)
    at_home = gps & ~away
    days = photos.days
    away_days = sorted(set(days[away].tolist()))
    home_days = set(days[at_home].tolist()) - set(away_days)
    groups: list[list[int]] = []
    for day in away_days:
        if groups and (day - groups[-1][-1] == 1 or (day - groups[-1][-1] == 2 and day - 1 not in home_days)):
            groups[-1].append(day)
        else:
            groups.append([day])
    trips = []
    for group in groups:
        in_days = np.flatnonzero((days >= group[0]) & (days <= group[-1]))
        first_away, last_away = in_days[away[in_days]][[0, -1]]
        before = in_days[(in_days < first_away) & at_home[in_days]]
        after = in_days[(in_days > last_away) & at_home[in_days]]
        lo = before[-1] + 1 if before.size else in_days[0]
        hi = after[0] - 1 if after.size else in_days[-1]
        trips.append(TripSpan(np.arange(lo, hi + 1, dtype=np.int64)))
    return trips, away


def apply_edits(trips: list[TripSpan], photos: LibraryPhotos, edits: Sequence[tuple[str, int, int | None]]) -> \
        list[TripSpan]:
    """Replay ("merge", start, end) and ("split", at, None) in order."""
    for kind, start_ms, end_ms in edits:
        if kind == "merge" and end_ms is not None:
            meeting = [t for t in trips if _start(t, photos) <= end_ms and _end(t, photos) >= start_ms]
            if len(meeting) < 2:
                continue
            lo = min(int(t.photos[0]) for t in meeting)
            hi = max(int(t.photos[-1]) for t in meeting)
            merged = TripSpan(np.arange(lo, hi + 1, dtype=np.int64), from_split=meeting[0].from_split)
            trips = sorted([t for t in trips if t not in meeting] + [merged], key=lambda t: int(t.photos[0]))
        elif kind == "split":
            for index, trip in enumerate(trips):
                times = photos.times[trip.photos]
                cut = int(np.searchsorted(times, start_ms, side="left"))
                if 0 < cut < len(trip.photos):
                    trips[index:index + 1] = [TripSpan(trip.photos[:cut], trip.from_split),
                                              TripSpan(trip.photos[cut:], True)]
                    break
    return trips


def _start(trip: TripSpan, photos: LibraryPhotos) -> int:
    return int(photos.times[trip.photos[0]])


def _end(trip: TripSpan, photos: LibraryPhotos) -> int:
    return int(photos.times[trip.photos[-1]])


def trip_id(owner: str, trip: TripSpan, photos: LibraryPhotos, taken: set[str]) -> str:
    """A hash of the owner and the trip's first local day (or, for the later part of a
    split or a clash, its first moment): stable while the library grows."""
    day = int(photos.days[trip.photos[0]])
    candidates = [] if trip.from_split else [f"{owner}:day:{day}"]
    candidates.append(f"{owner}:at:{_start(trip, photos)}")
    for text in candidates:
        found = hashlib.sha256(text.encode()).hexdigest()[:16]
        if found not in taken:
            return found
    return hashlib.sha256(f"{owner}:at:{_start(trip, photos)}:{len(taken)}".encode()).hexdigest()[:16]


def name_of(trip: TripSpan, photos: LibraryPhotos, away: npt.NDArray[np.bool_]) -> str:
    """From Immich's place names: "Lisbon, Portugal" (one city for most photos), "Lisbon &
    Porto" (two for nearly all), "Portugal", "Portugal & Spain"; the month when no photo
    has a place."""
    chosen = [int(i) for i in trip.photos if away[i]] or [int(i) for i in trip.photos]
    cities = Counter((photos.cities[i], photos.countries[i]) for i in chosen if photos.cities[i])
    countries = Counter(photos.countries[i] for i in chosen if photos.countries[i])
    named = sum(cities.values())
    if named:
        (city, country), top = cities.most_common(1)[0]
        if top >= 0.6 * named:
            return f"{city}, {country}" if country else str(city)
        if len(cities) >= 2:
            (second, second_country), next_count = cities.most_common(2)[1]
            if top + next_count >= 0.8 * named and second_country == country:
                return f"{city} & {second}"
    if countries:
        ranked = countries.most_common(2)
        if ranked[0][1] >= 0.6 * sum(countries.values()) or len(ranked) == 1:
            return str(ranked[0][0])
        return f"{ranked[0][0]} & {ranked[1][0]}"
    day = int(photos.days[trip.photos[0]])
    year, month = _year_month(day)
    return f"Trip in {MONTHS[month - 1]} {year}"


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def _year_month(day: int) -> tuple[int, int]:
    stamp = np.datetime64(day, "D").astype("datetime64[M]")
    year = stamp.astype("datetime64[Y]").astype(int) + 1970
    return int(year), int(stamp.astype(int) % 12 + 1)


def bbox_of(trip: TripSpan, photos: LibraryPhotos) -> list[float] | None:
    """[west, south, east, north] of the trip's GPS photos; west > east when it crosses the
    antimeridian."""
    index = trip.photos[~np.isnan(photos.latitudes[trip.photos])]
    if index.size == 0:
        return None
    lat, lon = photos.latitudes[index], photos.longitudes[index]
    west, east = float(lon.min()), float(lon.max())
    if east - west > 180:
        shifted = np.sort(np.mod(lon, 360.0))
        gaps = np.diff(np.r_[shifted, shifted[0] + 360.0])
        widest = int(np.argmax(gaps))
        west = float(shifted[(widest + 1) % len(shifted)])
        east = float(shifted[widest])
        west, east = (west + 180) % 360 - 180, (east + 180) % 360 - 180
    return [round(west, 6), round(float(lat.min()), 6), round(east, 6), round(float(lat.max()), 6)]


def covers_of(trip: TripSpan, photos: LibraryPhotos) -> list[str]:
    """Up to four: favourites first, then photos spread evenly over the trip."""
    index = trip.photos
    chosen = [int(i) for i in index[photos.favorites[index]]]
    if len(chosen) > MAX_COVERS:
        chosen = [chosen[round(k * (len(chosen) - 1) / (MAX_COVERS - 1))] for k in range(MAX_COVERS)]
    with_gps = index[~np.isnan(photos.latitudes[index])]
    pool = with_gps if with_gps.size else index
    for k in range(MAX_COVERS):
        if len(chosen) >= MAX_COVERS:
            break
        candidate = int(pool[math.floor(k * (len(pool) - 1) / max(1, MAX_COVERS - 1))])
        if candidate not in chosen:
            chosen.append(candidate)
    return [photos.ids[i] for i in sorted(chosen, key=lambda i: int(photos.times[i]))]
