"""Immich's search pages as index rows: the page decoded into the fields the index keeps,
and each field read exactly as one asset at a time would read it (epoch_ms, round, gmtime)."""

from __future__ import annotations

import random
import time

import orjson
import pytest

from service.library.asset_rows import (
    ROW_COLUMNS,
    NotAssets,
    assets_of,
    decode_assets,
    epoch_ms,
    epoch_ms_column,
    iso_ms,
    split_assets,
)
from service.models import LibraryAsset

ODD_TIMES = [
    None, "", 5, 1.5, True, [], "x" * 24, "not a time at all",
    "2019-02-29T00:00:00.000Z",  # no 29 February that year
    "2020-02-29T23:59:59.999Z", "2019-04-31T00:00:00.000Z", "2019-13-01T00:00:00.000Z", "2019-00-10T00:00:00.000Z",
    "2019-12-00T00:00:00.000Z", "2019-12-01T24:00:00.000Z", "2019-12-01T23:60:00.000Z", "2019-12-01T23:59:60.000Z",
    "0000-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z",
    "1970-01-01T00:00:00.000Z", "1900-03-01T00:00:00.000Z", "2000-02-29T12:00:00.000Z", "2100-02-29T12:00:00.000Z",
    "2019-12-01T23:00:00.000+01:00", "2019-12-01T23:00:00.000", "2019-12-01T23:00:00Z", "2019-12-01 23:00:00.000Z",
    "2019-12-01T23:00:00.000z", "2019-12-01T23:00:00,000Z", "2019-12-01T23:00:00.123456Z", "２019-12-01T23:00:00.000Z",
    "2019-12-01T2a:00:00.000Z", "+019-12-01T23:00:00.000Z", "2019/12/01T23:00:00.000Z", "2019-12-01T23:00:00.0000",
]


def test_a_column_of_times_reads_each_as_epoch_ms_would():
    rng = random.Random(7)
    first, last = epoch_ms("0001-01-01T00:00:00.000Z"), epoch_ms("9999-12-31T23:59:59.999Z")
    canonical = [iso_ms(rng.randrange(first, last + 1)) for _ in range(2000)]
    values = canonical + ODD_TIMES
    rng.shuffle(values)
    assert epoch_ms_column(values) == [epoch_ms(value) for value in values]
    assert epoch_ms_column(ODD_TIMES) == [epoch_ms(value) for value in ODD_TIMES]
    assert epoch_ms_column([]) == []
    assert epoch_ms_column(["2024-06-01T12:00:00.000Z"]) == [1717243200000]


def page(items, next_page=None):
    return orjson.dumps({"assets": {"total": len(items), "count": len(items), "items": items, "facets": [],
                                    "nextPage": next_page}})


def asset(number, **fields):
    return {"id": f"{number:08d}-0000-4000-8000-000000000000", "type": "IMAGE", "originalFileName": f"IMG_{number}.jpg",
            "fileCreatedAt": "2024-06-01T10:00:00.000Z", "localDateTime": "2024-06-01T12:00:00.000Z",
            "updatedAt": "2024-06-02T08:00:00.000Z", "isFavorite": False, "isTrashed": False, "thumbhash": "abc",
            "ownerId": "someone", "checksum": "x", **fields}


def rows_by_id(items):
    rows, gone, high, seen = split_assets(assets_of(items))
    return {row[0]: dict(zip(ROW_COLUMNS, row, strict=True)) for row in rows}, gone, high, seen


def test_a_page_decoded_into_the_kept_fields_gives_the_rows_the_general_decoding_gives():
    items = [
        asset(1, exifInfo={"dateTimeOriginal": "2024-06-01T09:59:58.250Z", "latitude": 48.85, "longitude": 2.35,
                           "city": "Paris", "state": "", "country": "France", "make": "Apple"}),
        asset(2, exifInfo=None, isFavorite=True, type=None),
        asset(3, exifInfo={"latitude": 91, "longitude": 2}, localDateTime="2024-06-01T10:00:30.000Z"),
        asset(4, exifInfo={"latitude": True, "longitude": 0}, localDateTime="2024-06-01T10:01:30.000Z"),
        asset(5, exifInfo={"latitude": -90, "longitude": 180, "city": "c" * 300}, originalFileName="n" * 2000),
        asset(6, exifInfo={"latitude": "48.8", "longitude": 2.3}, fileCreatedAt="2024-02-30T00:00:00.000Z"),
        asset(7, isTrashed=True, updatedAt="2024-07-01T00:00:00.000Z"),
        asset(8, fileCreatedAt="2024-06-01T10:00:00+02:00", localDateTime=None, updatedAt=None),
        {**asset(9), "id": "i" * 37},  # not an id Immich gives: out, as a trashed one
        {**asset(10), "id": 10},  # no id at all: neither kept nor removed
        {"id": "e" * 36},
    ]
    answer = page(items, next_page="2")
    assets, next_page = decode_assets(answer)
    assert next_page == 2
    decoded = split_assets(assets)
    assert decoded == split_assets(assets_of(orjson.loads(answer)["assets"]["items"]))
    rows, gone, high, seen = rows_by_id(items)
    assert seen == 11 and gone == ["00000007-0000-4000-8000-000000000000", "i" * 37]
    assert high == epoch_ms("2024-07-01T00:00:00.000Z")
    first = rows["00000001-0000-4000-8000-000000000000"]
    assert first == {
        "asset_id": "00000001-0000-4000-8000-000000000000", "type": "IMAGE",
        "file_created_ms": epoch_ms("2024-06-01T10:00:00.000Z"), "taken_ms": epoch_ms("2024-06-01T09:59:58.250Z"),
        "local_offset_minutes": 120, "bucket": "2024-06", "latitude": 48.85, "longitude": 2.35,
        "original_file_name": "IMG_1.jpg", "city": "Paris", "state": None, "country": "France",
        "is_favorite": False, "thumbhash": "abc", "updated_ms": epoch_ms("2024-06-02T08:00:00.000Z"),
    }
    second = rows["00000002-0000-4000-8000-000000000000"]
    assert second["type"] == "OTHER" and second["is_favorite"] is True and second["latitude"] is None
    assert second["taken_ms"] == second["file_created_ms"]
    # Offsets round as Python's round does, half to even: 30 s is 0 minutes, 90 s is 2.
    assert rows["00000003-0000-4000-8000-000000000000"]["local_offset_minutes"] == 0
    assert rows["00000004-0000-4000-8000-000000000000"]["local_offset_minutes"] == 2
    assert rows["00000003-0000-4000-8000-000000000000"]["latitude"] is None  # 91° is no latitude
    assert rows["00000004-0000-4000-8000-000000000000"]["latitude"] is None  # nor is true
    fifth = rows["00000005-0000-4000-8000-000000000000"]
    assert (fifth["latitude"], fifth["longitude"]) == (-90.0, 180.0) and isinstance(fifth["latitude"], float)
    assert len(fifth["city"]) == 255 and len(fifth["original_file_name"]) == 1024
    sixth = rows["00000006-0000-4000-8000-000000000000"]
    assert sixth["file_created_ms"] is None and sixth["bucket"] is None and sixth["latitude"] is None
    eighth = rows["00000008-0000-4000-8000-000000000000"]
    assert eighth["file_created_ms"] == epoch_ms("2024-06-01T08:00:00.000Z")
    assert eighth["local_offset_minutes"] is None and eighth["bucket"] == "2024-06" and eighth["updated_ms"] is None
    assert rows["e" * 36]["type"] == "OTHER" and rows["e" * 36]["file_created_ms"] is None


def test_months_are_those_of_the_local_time_as_gmtime_reads_them():
    rng = random.Random(11)
    items, expected = [], {}
    for number in range(500):
        created = rng.randrange(-30_000_000_000_000, 30_000_000_000_000)
        offset = rng.randrange(-14 * 60, 14 * 60 + 1)
        local = created + offset * 60_000 + rng.choice([0, 29_999, 30_000, -30_000])
        items.append(asset(number, fileCreatedAt=iso_ms(created), localDateTime=iso_ms(local)))
        minutes = round((local - created) / 60_000)
        month = time.gmtime((created + minutes * 60_000) // 1000)
        expected[items[-1]["id"]] = (minutes, f"{month.tm_year:04d}-{month.tm_mon:02d}")
    rows, _gone, _high, _seen = rows_by_id(items)
    assert {key: (row["local_offset_minutes"], row["bucket"]) for key, row in rows.items()} == expected


@pytest.mark.parametrize("answer", [
    b"not json", b"[]", b'{"assets": []}', b'{"assets": {"items": {}}}', b'{"assets": {"items": [1]}}',
    page([asset(1, exifInfo="somewhere")]), page([asset(1)], next_page="two"),
])
def test_an_answer_that_is_not_such_a_page_is_left_to_the_general_decoding(answer):
    with pytest.raises(NotAssets):
        decode_assets(answer)


def test_the_general_decoding_skips_what_is_not_an_asset_and_ignores_an_exif_that_is_not_an_object():
    rows, _gone, _high, seen = split_assets(assets_of([asset(1, exifInfo="somewhere"), 5, "x", None]))
    assert seen == 1 and rows[0][0] == "00000001-0000-4000-8000-000000000000" and rows[0][6] is None


def test_a_row_holds_every_column_of_the_index_but_its_owner():
    assert set(ROW_COLUMNS) == {column.name for column in LibraryAsset.__table__.columns} - {"user_id"}


def test_a_coordinate_too_large_for_a_float_is_no_coordinate():
    answer = (b'{"assets": {"items": [{"id": "a", "fileCreatedAt": "2024-06-01T10:00:00.000Z", '
              b'"exifInfo": {"latitude": ' + b"9" * 400 + b', "longitude": 2}}], "nextPage": null}}')
    rows, _gone, _high, _seen = split_assets(decode_assets(answer)[0])
    assert rows[0][0] == "a" and rows[0][6:8] == (None, None)
