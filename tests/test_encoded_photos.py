"""The search's encoded photos: each selection is the same JSON, in the same order, as
encoding the selected photos one by one, however the selected photos fall into runs."""

from __future__ import annotations

import random

import orjson
import pytest

from service.library.asset_rows import photos_of
from service.library.encoded_photos import EncodedPhotos
from service.photos.geo import Circle
from service.photos.search import PhotoSet

PREFIX = "/api/users/me/immich/photos/"
DAY_MS = 86_400_000


def rows(n: int, seed: int) -> list[tuple[object, ...]]:
    """Index rows as the store reads them, in capture order; some without a position, a name
    or a city, some created on a day other than the one they were taken."""
    rng = random.Random(seed)
    made = []
    for i in range(n):
        taken = 1_700_000_000_000 + i * 3_600_000
        located = rng.random() > 0.2
        made.append((
            f"00000000-0000-4000-8000-{i:012d}",
            None if i % 17 == 0 else f"IMG_{i}\"é.jpg",
            taken,
            rng.uniform(-89.9, 89.9) if located else None,
            rng.uniform(-180, 180) if located else None,
            "Zürich" if i % 3 else None,
            "Schweiz",
            None,
            taken + (rng.choice([-3, 0, 0, 0, 5]) * DAY_MS),
        ))
    return made


def expected(made: list[tuple[object, ...]], start: int, end: int, circle: Circle | None) -> list[dict[str, object]]:
    in_range = [row for row in made if start <= row[8] <= end]  # type: ignore[operator]
    return orjson.loads(orjson.dumps(PhotoSet(photos_of(in_range)).select(circle, PREFIX)))


@pytest.mark.parametrize("circle", [None, Circle(10, 20, 4_000_000), Circle(0, 180, 2_500_000),
                                    Circle(89.9, 0, 500_000), Circle(0, 0, 1)])
@pytest.mark.parametrize("days", [(0, 5), (3, 40), (-10, 1000)])
def test_a_selection_is_the_photos_encoded_one_by_one(circle, days):
    made = rows(600, seed=days[1])
    start = 1_700_000_000_000 + days[0] * DAY_MS
    end = 1_700_000_000_000 + days[1] * DAY_MS
    encoded, count = EncodedPhotos.build([made[:250], made[250:]], PREFIX).select(start, end, circle)
    want = expected(made, start, end, circle)
    assert orjson.loads(encoded) == want
    assert count == len(want)
    if circle is None:
        assert count > 0  # the ranges each hold photos: the comparison is not of two empty lists


def test_nothing_selected_is_an_empty_array():
    built = EncodedPhotos.build([rows(50, seed=1)], PREFIX)
    assert built.select(0, 1, None) == (b"[]", 0)
    assert EncodedPhotos.build([], PREFIX).select(0, 2**62, None) == (b"[]", 0)
