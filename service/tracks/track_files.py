"""Reading a location-history file into three arrays (times, latitudes, longitudes), streamed
from disk so a million points never sit in memory as Python objects: GPX through expat,
GeoJSON and Google Takeout JSON through ijson. A file that is not usable is a 400 naming
what is wrong with it; nothing is kept of it but the points' times and positions."""

from __future__ import annotations

import math
import mmap
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from xml.parsers import expat

import ijson
import numpy as np
import numpy.typing as npt
from gpxpy.gpx import GPXException
from gpxpy.gpxfield import parse_time as gpx_parse_time

from service.errors import InvalidInput
from service.library.asset_rows import epoch_ms

TIME_BATCH = 50_000  # GPX times are turned into numbers this many at a time
VISIT_STEP_MS = 10 * 60_000  # a place visit becomes a point every 10 minutes of its stay
MAX_VISIT_MS = 7 * 86_400_000
MAX_ACCURACY_M = 1_000  # Takeout fixes vaguer than this (cell towers) would mislead estimates
_POINT_TEXT = re.compile(r"^\s*(?:geo:)?\s*(-?\d+(?:\.\d+)?)\s*°?\s*,\s*(-?\d+(?:\.\d+)?)\s*°?\s*$")

Times = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class TrackFileInvalid(InvalidInput):
    """The uploaded file cannot be used; the message says why."""


class TooManyPoints(InvalidInput):
    """The file would take the user's tracks past their limit."""


@dataclass(frozen=True)
class ParsedTrack:
    name: str | None
    times: Times  # milliseconds since the epoch, UTC, sorted
    latitudes: Floats
    longitudes: Floats

    def __len__(self) -> int:
        return len(self.times)


class PointSink:
    """Points as they are read, in compact arrays, with a limit on how many."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.times = array("q")
        self.latitudes = array("d")
        self.longitudes = array("d")
        self.without_time = 0

    def add(self, ms: int | None, latitude: float, longitude: float, where: str) -> None:
        if ms is None:
            self.without_time += 1
            return
        if not (math.isfinite(latitude) and -90 <= latitude <= 90):
            raise TrackFileInvalid(f"{where}: latitude {latitude:g} is outside -90 to 90")
        if not (math.isfinite(longitude) and -180 <= longitude <= 180):
            raise TrackFileInvalid(f"{where}: longitude {longitude:g} is outside -180 to 180")
        if len(self.times) >= self.limit:
            raise TooManyPoints(f"The file holds more points than the {self.limit:,} your tracks may still take: "
                                "delete a track or upload a shorter file")
        self.times.append(ms)
        self.latitudes.append(latitude)
        self.longitudes.append(longitude)

    def extend(self, times: Iterable[int], latitudes: array[float], longitudes: array[float]) -> None:
        """Points already checked (GPX, whose times are converted in batches)."""
        self.times.extend(times)
        self.latitudes.extend(latitudes)
        self.longitudes.extend(longitudes)

    def result(self, name: str | None, kind: str) -> ParsedTrack:
        if not self.times:
            if self.without_time:
                raise TrackFileInvalid(f"The {kind} has {self.without_time:,} points but none has a time: "
                                       "a track needs the time of each point")
            raise TrackFileInvalid(f"The {kind} has no points with a position and a time")
        times = np.frombuffer(self.times, dtype=np.int64).copy()
        order = np.argsort(times, kind="stable")
        return ParsedTrack(
            name=name,
            times=times[order],
            latitudes=np.frombuffer(self.latitudes, dtype=np.float64)[order],
            longitudes=np.frombuffer(self.longitudes, dtype=np.float64)[order],
        )


def parse_track_file(path: Path, *, limit: int) -> ParsedTrack:
    """The points of a GPX, GeoJSON or Google Takeout location-history file on disk."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
        if not head.strip():
            raise TrackFileInvalid("The file is empty")
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        handle.seek(0)
        if first == b"<":
            return _parse_gpx(handle, limit)
        if first in (b"{", b"["):
            return _parse_json(handle, limit)
    raise TrackFileInvalid("The file is not GPX, GeoJSON or a Google Takeout location history (JSON)")


# ---------------------------------------------------------------- times


def ms_of_text(text: str) -> int | None:
    """An ISO 8601 time (a time without a zone is UTC, as GPX says) in milliseconds, or None."""
    text = text.strip()
    ms = epoch_ms(text)
    if ms is not None:
        return ms
    try:
        parsed = gpx_parse_time(text)  # the sloppier forms GPX writers use: 2024-6-1T9:05:00Z
    except (GPXException, ValueError, OverflowError):
        return None
    return None if parsed is None else epoch_ms(parsed.isoformat())


def ms_of_number(value: float) -> int | None:
    """Epoch seconds or milliseconds (told apart by size) in milliseconds, or None."""
    if not math.isfinite(value):
        return None
    return int(value if abs(value) >= 1e11 else value * 1000)


def ms_of_json(value: Any) -> int | None:
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            return ms_of_number(float(value))
        return ms_of_text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ms_of_number(float(value))
    return None


def ms_of_texts(texts: list[str]) -> list[int | None]:
    """Many ISO times at once: numpy parses the common UTC form in one call."""
    if all(len(t) >= 20 and t[10] == "T" and t[-1] == "Z" and t[-6] not in "+-" for t in texts):
        try:
            stamps = np.array([t[:-1] for t in texts], dtype="datetime64[ms]")
            return list(stamps.astype(np.int64).tolist())
        except ValueError:
            pass  # one odd time: parse them one by one
    return [ms_of_text(t) for t in texts]


# ---------------------------------------------------------------- GPX


_POINT, _TIME, _NAME, _OTHER = range(4)
_KINDS = {"trkpt": _POINT, "rtept": _POINT, "time": _TIME, "name": _NAME}


class _GpxReader:
    """expat callbacks: each trkpt or rtept with its lat, lon and time, kept as text and
    turned into numbers a batch at a time (numpy parses a batch far faster than Python)."""

    def __init__(self, sink: PointSink) -> None:
        self.sink = sink
        self.kinds: dict[str, int] = {}  # element name (with its namespace) -> kind
        self.root_checked = False
        self.in_point = False
        self.point_lat = self.point_lon = ""
        self.point_time: str | None = None
        self.text: list[str] | None = None
        self.name: str | None = None
        self.count = 0
        self.pending_times: list[str] = []
        self.pending_lat: list[str] = []
        self.pending_lon: list[str] = []

    def _kind(self, name: str) -> int:
        kind = self.kinds.get(name)
        if kind is None:
            local = name.rpartition(" ")[2]
            kind = self.kinds[name] = _KINDS.get(local, _OTHER)
            if not self.root_checked:
                self.root_checked = True
                if local != "gpx":
                    raise TrackFileInvalid(f"The XML file is not GPX: its root element is <{local[:40]}>, not <gpx>")
        return kind

    def start(self, name: str, attrs: list[str]) -> None:
        kind = self._kind(name)
        if kind == _POINT:
            self.count += 1
            if len(attrs) == 4 and attrs[0] == "lat" and attrs[2] == "lon":  # how nearly every writer puts it
                self.point_lat, self.point_lon = attrs[1], attrs[3]
            else:
                found = dict(zip(attrs[::2], attrs[1::2], strict=True))
                for key in ("lat", "lon"):
                    if key not in found:
                        raise TrackFileInvalid(f"GPX point {self.count:,} has no {key} attribute")
                self.point_lat, self.point_lon = found["lat"], found["lon"]
            self.in_point = True
            self.point_time = None
        elif (kind == _TIME and self.in_point) or (kind == _NAME and self.name is None):
            self.text = []

    def characters(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def end(self, name: str) -> None:
        kind = self.kinds[name]
        if kind == _TIME and self.text is not None and self.in_point:
            self.point_time = "".join(self.text).strip()
            self.text = None
        elif kind == _NAME and self.text is not None:
            self.name = "".join(self.text).strip()[:200] or None
            self.text = None
        elif kind == _POINT:
            if self.point_time:
                self.pending_times.append(self.point_time)
                self.pending_lat.append(self.point_lat)
                self.pending_lon.append(self.point_lon)
                if len(self.pending_times) >= TIME_BATCH:
                    self.flush()
            else:
                self.sink.without_time += 1
            self.in_point = False

    def flush(self) -> None:
        if not self.pending_times:
            return
        latitudes = _coordinates(self.pending_lat, "lat", 90)
        longitudes = _coordinates(self.pending_lon, "lon", 180)
        times = ms_of_texts(self.pending_times)
        for index, ms in enumerate(times):
            if ms is None:
                raise TrackFileInvalid(f"GPX point time {self.pending_times[index][:40]!r} is not an ISO 8601 time")
        if len(self.sink.times) + len(times) > self.sink.limit:
            raise TooManyPoints(f"The file holds more points than the {self.sink.limit:,} your tracks may still "
                                "take: delete a track or upload a shorter file")
        self.sink.extend(times, array("d", latitudes.tobytes()), array("d", longitudes.tobytes()))  # type: ignore[arg-type]
        self.pending_times, self.pending_lat, self.pending_lon = [], [], []


def _coordinates(texts: list[str], key: str, limit: int) -> Floats:
    """A batch of lat or lon attribute values as numbers, each checked."""
    try:
        values: Floats = np.array(texts, dtype=np.float64)
    except ValueError:
        bad = next(text for text in texts if not _is_number(text))
        raise TrackFileInvalid(f"GPX point {key}={bad[:40]!r} is not a number") from None
    wrong = ~(np.abs(values) <= limit)  # NaN too
    if wrong.any():
        raise TrackFileInvalid(f"GPX point {key} {texts[int(np.argmax(wrong))][:40]} is outside -{limit} to {limit}")
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _refuse_doctype(*_: Any) -> None:
    raise TrackFileInvalid("GPX files with a DOCTYPE are not accepted")


def _parse_gpx(handle: BinaryIO, limit: int) -> ParsedTrack:
    sink = PointSink(limit)
    reader = _GpxReader(sink)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.ordered_attributes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.characters
    try:
        parser.ParseFile(handle)
    except expat.ExpatError as exc:
        problem = expat.ErrorString(exc.code) if exc.code else "not well-formed"
        hint = " (is the file cut short?)" if exc.code == expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS] \
            or "unclosed" in problem or "no element" in problem else ""
        raise TrackFileInvalid(f"The GPX file is not well-formed XML at line {exc.lineno}: {problem}{hint}") from None
    reader.flush()
    return sink.result(reader.name, "GPX file")


# ---------------------------------------------------------------- JSON


def _parse_json(handle: BinaryIO, limit: int) -> ParsedTrack:
    sink = PointSink(limit)
    try:
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            has = {key: mapped.find(f'"{key}"'.encode()) >= 0
                   for key in ("locations", "semanticSegments", "rawSignals", "features", "geometry", "coordinates",
                               "timelinePath", "startTime")}
        top = _top_level(handle)
        name: str | None = None
        readers: list[tuple[str, Callable[[Any, PointSink, int], None]]] = []
        if top == "start_array":
            readers.append(("item", _ios_segment))
        else:
            if has["locations"]:
                readers.append(("locations.item", _records_location))
            if has["semanticSegments"]:
                readers.append(("semanticSegments.item", _timeline_segment))
            if has["rawSignals"]:
                readers.append(("rawSignals.item", _raw_signal))
            if has["features"]:
                readers.append(("features.item", _feature))
            if has["geometry"] and not has["features"]:
                readers.append(("", _whole_feature))
            elif has["coordinates"] and not has["features"]:
                readers.append(("", _whole_feature))
        if not readers:
            raise TrackFileInvalid("The JSON file is neither GeoJSON (features with times) nor a Google Takeout "
                                   "location history (locations, or semanticSegments with timelinePath)")
        for prefix, read in readers:
            handle.seek(0)
            for number, item in enumerate(ijson.items(handle, prefix, use_float=True), start=1):
                read(item, sink, number)
                if prefix == "" and isinstance(item, dict):
                    name = name or _feature_name(item)
            if prefix == "features.item":
                name = name or _first_feature_name(handle)
    except ijson.common.IncompleteJSONError as exc:
        detail = str(exc).split("\n")[0][:120]
        raise TrackFileInvalid(f"The file is not valid JSON (is it cut short?): {detail}") from None
    except ijson.common.JSONError as exc:
        raise TrackFileInvalid(f"The file is not valid JSON: {str(exc)[:120]}") from None
    kind = "GeoJSON file" if has["features"] or has["geometry"] or has["coordinates"] else "location history"
    return sink.result(name, kind)


def _top_level(handle: BinaryIO) -> str:
    handle.seek(0)
    for _prefix, event, _value in ijson.parse(handle):
        return str(event)
    raise TrackFileInvalid("The file is empty")


def _first_feature_name(handle: BinaryIO) -> str | None:
    handle.seek(0)
    for name in ijson.items(handle, "features.item.properties.name"):
        return name[:200] if isinstance(name, str) and name.strip() else None
    return None


def _feature_name(item: dict[str, Any]) -> str | None:
    properties = item.get("properties")
    name = properties.get("name") if isinstance(properties, dict) else None
    return name[:200] if isinstance(name, str) and name.strip() else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _point_text(value: Any) -> tuple[float, float] | None:
    """"geo:38.7,-9.1" or "38.7°, -9.1°" as (latitude, longitude)."""
    if not isinstance(value, str):
        return None
    match = _POINT_TEXT.match(value)
    return (float(match.group(1)), float(match.group(2))) if match else None


def _records_location(item: Any, sink: PointSink, number: int) -> None:
    """Records.json: {"latitudeE7", "longitudeE7", "timestamp" | "timestampMs", "accuracy"?}."""
    if not isinstance(item, dict):
        raise TrackFileInvalid(f"locations[{number - 1}] is not an object")
    lat, lon = _number(item.get("latitudeE7")), _number(item.get("longitudeE7"))
    if lat is None or lon is None:
        return  # Takeout has entries with activity only
    accuracy = _number(item.get("accuracy"))
    if accuracy is not None and accuracy > MAX_ACCURACY_M:
        return
    ms = ms_of_json(item.get("timestamp")) if "timestamp" in item else ms_of_json(item.get("timestampMs"))
    sink.add(ms, lat / 1e7, lon / 1e7, f"locations[{number - 1}]")


def _timeline_segment(item: Any, sink: PointSink, number: int) -> None:
    """The on-device Timeline export: semanticSegments[] with timelinePath[] {point, time},
    visits (a place from startTime to endTime) and activities (start and end)."""
    if not isinstance(item, dict):
        raise TrackFileInvalid(f"semanticSegments[{number - 1}] is not an object")
    where = f"semanticSegments[{number - 1}]"
    for step in item.get("timelinePath") or []:
        if isinstance(step, dict):
            point = _point_text(step.get("point"))
            if point is not None:
                sink.add(ms_of_json(step.get("time")), *point, where)
    start, end = ms_of_json(item.get("startTime")), ms_of_json(item.get("endTime"))
    visit = item.get("visit")
    if isinstance(visit, dict):
        place = (visit.get("topCandidate") or {}).get("placeLocation")
        point = _point_text(place.get("latLng") if isinstance(place, dict) else place)
        if point is not None:
            _stay(sink, start, end, point, where)
    _activity_ends(sink, item.get("activity"), start, end, where)


def _raw_signal(item: Any, sink: PointSink, number: int) -> None:
    position = item.get("position") if isinstance(item, dict) else None
    if not isinstance(position, dict):
        return
    point = _point_text(position.get("LatLng") or position.get("latLng"))
    accuracy = _number(position.get("accuracyMeters"))
    if point is not None and (accuracy is None or accuracy <= MAX_ACCURACY_M):
        sink.add(ms_of_json(position.get("timestamp")), *point, f"rawSignals[{number - 1}]")


def _ios_segment(item: Any, sink: PointSink, number: int) -> None:
    """The iPhone Timeline export: a list of {startTime, endTime, timelinePath[] {point,
    durationMinutesOffsetFromStartTime}, visit, activity}."""
    if not isinstance(item, dict):
        raise TrackFileInvalid(f"item {number - 1} of the list is not an object")
    where = f"item {number - 1}"
    start, end = ms_of_json(item.get("startTime")), ms_of_json(item.get("endTime"))
    for step in item.get("timelinePath") or []:
        if not isinstance(step, dict):
            continue
        point = _point_text(step.get("point"))
        minutes = _minutes(step.get("durationMinutesOffsetFromStartTime"))
        if point is not None and start is not None and minutes is not None:
            sink.add(start + int(minutes * 60_000), *point, where)
        elif point is not None and "time" in step:
            sink.add(ms_of_json(step.get("time")), *point, where)
    visit = item.get("visit")
    if isinstance(visit, dict):
        candidate = visit.get("topCandidate") or {}
        point = _point_text(candidate.get("placeLocation") if isinstance(candidate, dict) else None)
        if point is not None:
            _stay(sink, start, end, point, where)
    _activity_ends(sink, item.get("activity"), start, end, where)


def _activity_ends(sink: PointSink, activity: Any, start: int | None, end: int | None, where: str) -> None:
    """A journey's start place at startTime and its end place at endTime ("lat°, lon°" in
    {"latLng": ...} on Android, "geo:lat,lon" on iPhone)."""
    if not isinstance(activity, dict):
        return
    for key, ms in (("start", start), ("end", end)):
        spot = activity.get(key)
        point = _point_text(spot.get("latLng") if isinstance(spot, dict) else spot)
        if point is not None and ms is not None:
            sink.add(ms, *point, where)


def _minutes(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    number = _number(value)
    return number if number is not None and math.isfinite(number) else None


def _stay(sink: PointSink, start: int | None, end: int | None, point: tuple[float, float], where: str) -> None:
    """A visit: the place at its start, every VISIT_STEP_MS of the stay, and its end."""
    if start is None or end is None or end < start or end - start > MAX_VISIT_MS:
        return
    for ms in range(start, end, VISIT_STEP_MS):
        sink.add(ms, *point, where)
    sink.add(end, *point, where)


def _feature(item: Any, sink: PointSink, number: int) -> None:
    if not isinstance(item, dict):
        raise TrackFileInvalid(f"features[{number - 1}] is not an object")
    _geometry_points(item.get("geometry"), item.get("properties"), sink, f"features[{number - 1}]")


def _whole_feature(item: Any, sink: PointSink, _number_: int) -> None:
    if not isinstance(item, dict):
        raise TrackFileInvalid("The GeoJSON file is not an object")
    if item.get("type") == "Feature":
        _geometry_points(item.get("geometry"), item.get("properties"), sink, "the feature")
    else:
        _geometry_points(item, None, sink, "the geometry")


def _geometry_points(geometry: Any, properties: Any, sink: PointSink, where: str) -> None:
    """LineString / MultiLineString with properties.coordTimes (or times), Point with
    properties.time (or timestamp)."""
    if not isinstance(geometry, dict):
        return
    properties = properties if isinstance(properties, dict) else {}
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Point":
        when = next((properties[key] for key in ("time", "timestamp", "times", "coordTimes") if key in properties),
                    None)
        if isinstance(when, list):
            when = when[0] if when else None
        _add_position(sink, coordinates, ms_of_json(when), where)
    elif kind in ("LineString", "MultiPoint"):
        times = properties.get("coordTimes", properties.get("times"))
        _add_line(sink, coordinates, times, where)
    elif kind == "MultiLineString":
        times = properties.get("coordTimes", properties.get("times"))
        if not isinstance(coordinates, list):
            raise TrackFileInvalid(f"{where}: coordinates must be a list of lines")
        flat = isinstance(times, list) and times and not isinstance(times[0], list)
        if flat:  # one list of times for all the lines together
            _add_line(sink, [pos for line in coordinates if isinstance(line, list) for pos in line], times, where)
        else:
            for index, line in enumerate(coordinates):
                line_times = times[index] if isinstance(times, list) and index < len(times) else None
                _add_line(sink, line, line_times, f"{where} line {index}")


def _add_line(sink: PointSink, coordinates: Any, times: Any, where: str) -> None:
    if not isinstance(coordinates, list):
        raise TrackFileInvalid(f"{where}: coordinates must be a list of positions")
    if times is None:
        sink.without_time += len(coordinates)
        return
    if not isinstance(times, list) or len(times) != len(coordinates):
        count = len(times) if isinstance(times, list) else 0
        raise TrackFileInvalid(f"{where}: coordTimes has {count} times for {len(coordinates)} positions")
    for position, when in zip(coordinates, times, strict=True):
        _add_position(sink, position, ms_of_json(when), where)


def _add_position(sink: PointSink, position: Any, ms: int | None, where: str) -> None:
    if not isinstance(position, list) or len(position) < 2:
        raise TrackFileInvalid(f"{where}: a position must be [longitude, latitude]")
    lon, lat = _number(position[0]), _number(position[1])
    if lon is None or lat is None:
        raise TrackFileInvalid(f"{where}: a position must hold numbers")
    sink.add(ms, lat, lon, where)


def iter_chunks(track: ParsedTrack, size: int) -> Iterator[tuple[Times, Floats, Floats]]:
    for start in range(0, len(track), size):
        yield (track.times[start:start + size], track.latitudes[start:start + size],
               track.longitudes[start:start + size])
