"""A hostile or broken Immich, as a small WSGI app to serve with tests.live_server.serving:
it answers the calls Photo Atlas makes, in Immich's shapes, but offers a next page forever,
sends thumbnails of any content type, and names originals in any charset."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

KEY = "hostile-immich-key"


def asset_id(page: int) -> str:
    return str(uuid.UUID(int=page, version=4))


@dataclass
class HostileImmich:
    page_seconds: float = 0.0  # how long each search page takes
    # A safety net for the tests themselves: past this, even this server stops offering pages.
    gives_up_after: int = 300
    thumbnail_type: str | None = "image/jpeg"  # None: no Content-Type at all
    thumbnail_body: bytes = b"<script>alert(document.cookie)</script>"
    disposition: str = "inline; filename*=UTF-8''IMG_0001.jpg"
    pages_served: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.headers.get("x-api-key") != KEY:
            return Response(b'{"message":"Invalid API key"}', 401, content_type="application/json")
        path = request.path
        if path == "/api/server/version":
            return json_response('{"major":2,"minor":7,"patch":4}')
        if path == "/api/users/me":
            return json_response('{"id":"u","email":"hostile@example.com","name":"H"}')
        if path == "/api/search/metadata":
            return self.endless_page(int(request.get_json()["page"]))
        if path.endswith("/thumbnail"):
            response = Response(self.thumbnail_body)
            response.headers.remove("Content-Type")
            if self.thumbnail_type is not None:
                response.headers["Content-Type"] = self.thumbnail_type
            return response
        if path.endswith("/original"):
            return Response(b"\xff\xd8\xff original", content_type="image/jpeg",
                            headers={"Content-Disposition": self.disposition})
        return Response(b'{"message":"Not found"}', 404, content_type="application/json")

    def endless_page(self, page: int) -> Response:
        with self._lock:
            self.pages_served += 1
        time.sleep(self.page_seconds)
        item = (f'{{"id":"{asset_id(page)}","type":"IMAGE","isTrashed":false,"originalFileName":"p{page}.jpg",'
                f'"fileCreatedAt":"2024-01-01T00:00:00.000Z","exifInfo":{{"latitude":null,"longitude":null}}}}')
        following = f'"{page + 1}"' if page < self.gives_up_after else "null"
        return json_response(f'{{"assets":{{"total":1,"count":1,"items":[{item}],"nextPage":{following}}}}}')


def json_response(text: str) -> Response:
    return Response(text.encode(), content_type="application/json")
