"""The ``POST /search/metadata`` filters that the indexed fast path does not cover.

Each becomes a predicate over one asset; filters on things the fake has none of (albums,
people, tags, OCR text, ...) match nothing, as they would on a library without them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from .assets import FakeAsset

# Filters the indexed fast path understands; anything else is evaluated per asset.
FAST_KEYS = frozenset(
    {
        "takenAfter",
        "takenBefore",
        "type",
        "withDeleted",
        "withExif",
        "page",
        "size",
        "order",
        "withPeople",
        "withStacked",
        "isNotInAlbum",
    }
)


def metadata_filters(dto: dict) -> list[Callable[[FakeAsset], bool]]:
    """One predicate per filter in the validated dto that ``FAST_KEYS`` leaves out."""
    out: list[Callable[[FakeAsset], bool]] = []
    none: Callable[[FakeAsset], bool] = lambda a: False  # noqa: E731
    if "id" in dto:
        wanted_id = dto["id"].lower()
        out.append(lambda a: a.id == wanted_id)
    if "deviceId" in dto:
        out.append(lambda a, v=dto["deviceId"]: v == "fake-phone-7c1e")
    if "deviceAssetId" in dto:
        out.append(lambda a, v=dto["deviceAssetId"]: f"{a.original_file_name}-{a.size}" == v)
    if "checksum" in dto:

        def by_checksum(a: FakeAsset, v=dto["checksum"]) -> bool:
            raw = base64.b64decode(a.checksum)
            return v in (a.checksum, raw.hex())

        out.append(by_checksum)
    for name in ("originalFileName", "originalPath"):
        if dto.get(name):
            attr = "original_file_name" if name == "originalFileName" else "original_path"
            needle = dto[name].casefold()
            out.append(lambda a, v=needle, at=attr: v in getattr(a, at).casefold())
    if (
        dto.get("description")
        or dto.get("ocr")
        or dto.get("previewPath")
        or dto.get("thumbnailPath")
        or dto.get("encodedVideoPath")
    ):
        out.append(none)
    for name, attr in (
        ("city", "city"),
        ("state", "state"),
        ("country", "country"),
        ("make", "make"),
        ("model", "model"),
    ):
        if name in dto:
            out.append(lambda a, v=dto[name], at=attr: getattr(a, at) == v)
    if "lensModel" in dto and dto["lensModel"] is not None:
        out.append(none)
    if "isFavorite" in dto:
        out.append(lambda a, v=dto["isFavorite"]: a.is_favorite == v)
    if dto.get("isOffline") or dto.get("isMotion"):
        out.append(none)
    if "isEncoded" in dto:
        out.append(lambda a, v=dto["isEncoded"]: (a.type == "VIDEO") == v)
    if "visibility" in dto:
        out.append(lambda a, v=dto["visibility"]: a.visibility == v)
    for name, getter, cmp in (
        ("createdAfter", lambda a: a.created_ms, lambda x, v: x >= v),
        ("createdBefore", lambda a: a.created_ms, lambda x, v: x <= v),
        ("updatedAfter", lambda a: a.updated_ms, lambda x, v: x >= v),
        ("updatedBefore", lambda a: a.updated_ms, lambda x, v: x <= v),
        ("trashedAfter", lambda a: a.deleted_ms, lambda x, v: x >= v),
        ("trashedBefore", lambda a: a.deleted_ms, lambda x, v: x <= v),
    ):
        if name in dto:
            out.append(lambda a, v=dto[name], g=getter, c=cmp: (x := g(a)) is not None and c(x, v))
    if dto.get("libraryId"):
        out.append(none)
    for name in ("personIds", "albumIds"):
        if dto.get(name):
            out.append(none)
    if dto.get("tagIds"):
        out.append(none)
    if "rating" in dto and dto["rating"] is not None and dto["rating"] != -1:
        out.append(none)
    return out
