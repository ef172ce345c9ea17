"""JSON through orjson: a 50,000-photo answer encodes in milliseconds instead of a second,
and search results pre-encoded as orjson.Fragment pass straight through."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=self.default)
        response: Response = self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type,assignment]
        return response
