"""A user's whole index as a search answers it, kept per process: every image's JSON, URLs
included, in one buffer in capture order, beside the columns a search selects by. A search
is a mask over those columns and a join of slices of the buffer, so 100,000 photos take
milliseconds on any worker, whichever database holds the index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from service.library.asset_rows import photos_of
from service.photos.geo import Circle, within_mask
from service.photos.search import photo_json, prefix_json

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
NO_TIME = np.iinfo(np.int64).min  # what a range never selects


@dataclass(frozen=True)
class EncodedPhotos:
    created_ms: Ints  # Immich's fileCreatedAt, what a date range selects by
    latitudes: Floats  # NaN without a position
    longitudes: Floats
    starts: Ints  # where each photo's JSON starts in `encoded`, then where the buffer ends
    encoded: bytearray  # each photo's JSON followed by a comma (never changed once built)

    @classmethod
    def build(cls, batches: Iterable[Sequence[Any]], url_prefix: str) -> EncodedPhotos:
        """From batches of index rows (photo columns, then fileCreatedAt) sorted as a search
        answers; only one batch's rows and photo objects are alive at a time."""
        prefix = prefix_json(url_prefix)
        encoded = bytearray()  # grown in place: never a second copy of the whole
        lengths: list[int] = []
        created: list[int] = []
        latitudes: list[float] = []
        longitudes: list[float] = []
        for rows in batches:
            pieces = [photo_json(photo, prefix) + b"," for photo in photos_of(rows)]
            encoded += b"".join(pieces)
            lengths.extend(map(len, pieces))
            created.extend(NO_TIME if row[8] is None else row[8] for row in rows)
            latitudes.extend(np.nan if row[3] is None else row[3] for row in rows)
            longitudes.extend(np.nan if row[4] is None else row[4] for row in rows)
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.array(lengths, dtype=np.int64), out=starts[1:])
        return cls(
            created_ms=np.array(created, dtype=np.int64),
            latitudes=np.array(latitudes, dtype=np.float64),
            longitudes=np.array(longitudes, dtype=np.float64),
            starts=starts,
            encoded=encoded,
        )

    def select(self, start_ms: int, end_ms: int, circle: Circle | None) -> tuple[bytes, int]:
        """The JSON array of the photos created in [start, end] (and inside the circle), and
        how many there are. Photos in capture order are mostly in runs, each one slice."""
        mask = (self.created_ms >= start_ms) & (self.created_ms <= end_ms)
        if circle is not None:
            mask &= within_mask(self.latitudes, self.longitudes, circle)
        edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
        if not edges.size:
            return b"[]", 0
        view = memoryview(self.encoded)
        # Each run's slice keeps the comma after its last photo, but for the last run's: one
        # join, one copy of the answer.
        firsts, lasts = self.starts[edges[0::2]].tolist(), self.starts[edges[1::2]].tolist()
        lasts[-1] -= 1
        pieces: list[bytes | memoryview] = [b"["]
        pieces.extend(view[first:last] for first, last in zip(firsts, lasts, strict=True))
        pieces.append(b"]")
        return b"".join(pieces), int(mask.sum())

    @property
    def nbytes(self) -> int:
        return len(self.encoded) + sum(int(array.nbytes) for array in (
            self.created_ms, self.latitudes, self.longitudes, self.starts))
