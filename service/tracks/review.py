"""The estimates to review before writing any to Immich, and those already written."""

from __future__ import annotations

import uuid
from typing import Any

from service.photos import photo_service
from service.photos.search import SearchQuery
from service.tracks import track_service


def review(*, owner_id: uuid.UUID, query: SearchQuery, url_prefix: str) -> dict[str, Any]:
    found = photo_service.estimated_photos(owner_id=owner_id, query=query, url_prefix=url_prefix)
    return {**found.to_dict(), "applied": track_service.applied_estimates(owner_id)}
