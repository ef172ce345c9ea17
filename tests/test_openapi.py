"""The OpenAPI description (service/openapi.json) against the running app: every /api route
documented and nothing else, a valid OpenAPI 3.1 document, the docs page, and Schemathesis
fuzzing every operation in-process with the fake Immich behind it.

A deeper run: FUZZ_EXAMPLES=500 ./scripts/test.sh tests/test_openapi.py
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug.test import Client

from fake_immich import ALICE_KEY, FakeImmich
from tests.conftest import PASSWORD, dispose, error_of, make_app

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = json.loads((ROOT / "service" / "openapi.json").read_text(encoding="utf-8"))
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20240601"))
OPERATION_METHODS = {"get", "put", "post", "delete", "patch"}
RANGE = {"startDate": "2023-01-01T00:00:00Z", "endDate": "2024-12-31T23:59:59Z"}


# ------------------------------------------------------------------ routes and document


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI form: /users/<user_ref>/x/<path:file> -> /users/{userRef}/x/{file}."""

    def camel(name: str) -> str:
        first, *rest = name.split("_")
        return first + "".join(part.title() for part in rest)

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda match: "{" + camel(match.group(1)) + "}", rule)


def registered_api_operations(app: Flask) -> set[tuple[str, str]]:
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule == "/api" or rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def documented_operations() -> set[tuple[str, str]]:
    return {
        (path, method) for path, item in DOCUMENT["paths"].items() for method in item if method in OPERATION_METHODS
    }


def test_every_api_route_is_documented_and_every_operation_is_a_route(app):
    registered = registered_api_operations(app)
    documented = documented_operations()
    assert registered - documented == set(), "routes missing from service/openapi.json"
    assert documented - registered == set(), "documented operations that are not routes"
    assert ("/api/users/{userRef}/immich-config", "put") in registered


def test_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1.")
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)
    # Loading it the way the fuzzer does resolves every reference.
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    assert {(op.path, op.method.lower()) for op in (r.ok() for r in schema.get_all_operations())} == (
        documented_operations()
    )


def test_every_operation_answers_errors_in_the_envelope():
    """Every operation documents its 4xx/5xx answers with the one error schema."""
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in OPERATION_METHODS:
                continue
            assert "500" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    error = DOCUMENT["components"]["schemas"]["Error"]
    assert error["additionalProperties"] is False and set(error["required"]) == {"success", "error"}


def test_the_document_is_served_as_written_with_a_relative_server(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    served = response.get_json()
    assert served == DOCUMENT
    assert all(not re.match(r"^[a-z]+://", server["url"]) for server in served.get("servers", []))


def test_docs_page_loads_swagger_ui_from_this_server_only(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "https://" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/api/docs/assets/swagger-ui-bundle.js" in sources
    assert "/api/docs/assets/swagger-ui.css" in sources
    assert "/static/js/api-docs.js" in sources
    # The page lives under the app's own policy: no inline script or style anywhere.
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "unsafe" not in policy
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        asset.close()


@pytest.mark.parametrize("name", [
    "package.json", "index.html", "..%2Fleaflet%2Fpackage.json", "..", "%2Fetc%2Fpasswd", "missing.js",
])
def test_docs_assets_are_only_the_ui_packages_scripts_styles_and_icons(client, name):
    response = client.get(f"/api/docs/assets/{name}")
    assert response.status_code == 404
    error_of(response)


# ------------------------------------------------------------------ the app under fuzzing


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeImmich]:
    server = FakeImmich().start()
    yield server
    server.stop()


@dataclass
class World:
    """The app with its accounts: alice owns the photos (configured for the fake Immich),
    carol is the account whose settings the fuzzer rewrites, and logout gets a fresh
    session of its own every time so it never revokes anyone else's."""

    app: Flask
    client: FlaskClient
    fake: FakeImmich
    alice: dict[str, Any]
    carol: dict[str, Any]

    def login(self, email: str) -> dict[str, Any]:
        response = self.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def configure(self, session: dict[str, Any], key: str = ALICE_KEY) -> None:
        response = self.client.put(
            "/api/users/me/immich-config",
            json={"serverUrl": self.fake.url, "apiKey": key, "enabled": True},
            headers=bearer(session["accessToken"]),
        )
        assert response.status_code == 200, response.get_json()

    def headers_for(self, operation_id: str) -> dict[str, str]:
        if operation_id in ("register", "login", "getOpenApiDocument", "getApiDocsPage", "getApiDocsAsset"):
            return {}
        if operation_id == "refreshAccessToken":
            return bearer(self.alice["refreshToken"])
        if operation_id == "logout":
            return bearer(self.login("leaver@example.com")["accessToken"])
        if "ImmichConfig" in operation_id or operation_id == "testImmichConnection":
            return bearer(self.carol["accessToken"])
        return bearer(self.alice["accessToken"])


class ClosingClient(Client):
    """A WSGI client that reads each answer whole and closes it, as a server does when
    the body has been sent: streamed files and Immich media are released at once."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def only_the_fake(fake: FakeImmich) -> Any:
    """The resolver the app uses: the fake's host and port resolve, nothing else does, so
    fuzzed server URLs never lead anywhere but the fake."""

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host in ("127.0.0.1", "localhost") and port == fake.port else []

    return resolve


@pytest.fixture
def world(settings: dict[str, Any], fake: FakeImmich) -> Iterator[World]:
    fake.set_fault(None)
    app = make_app({
        **settings,
        "ALLOWED_IMMICH_HOSTS": "loopback",
        "RESOLVER": only_the_fake(fake),
        "REGISTRATION_OPEN": "true",
        # The fuzzer signs in and registers far more often than a person: no 429 here.
        "REGISTRATION_RATE_LIMIT": "100000 per hour",
        "LOGIN_RATE_LIMIT": "100000 per hour",
        "IMMICH_CONNECT_TIMEOUT": "2",
        "IMMICH_READ_TIMEOUT": "10",
    })
    client = app.test_client()
    for email in ("alice@example.com", "carol@example.com", "leaver@example.com"):
        response = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
    world = World(app=app, client=client, fake=fake, alice={}, carol={})
    world.alice = world.login("alice@example.com")
    world.carol = world.login("carol@example.com")
    world.configure(world.alice)
    world.configure(world.carol)
    APP.target = app
    yield world
    APP.target = None
    dispose(app)


def fuzz_config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "base-url": "http://localhost",
        "seed": FUZZ_SEED,
        "generation": {
            "mode": "all",
            "max-examples": FUZZ_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # Credentials come from the World, not from the generator.
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
    })


class CurrentApp:
    """The WSGI app the fuzzer talks to: each operation's test points it at a fresh app."""

    target: Flask | None = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        assert self.target is not None, "no app under test"
        return self.target(environ, start_response)


APP = CurrentApp()
# Loaded from the file the app serves (the same document: see
# test_the_document_is_served_as_written_with_a_relative_server) so that each operation is a
# test of its own, with a fresh app; every request goes to that app in-process.
fuzzed = schemathesis.openapi.from_path(ROOT / "service" / "openapi.json", config=fuzz_config())
fuzzed.app = APP


def cross_parameter_rule_broken(case: Any) -> bool:
    """Rules OpenAPI cannot state for query parameters, which the contract makes a 400:
    startDate not after endDate, and latitude/longitude/radiusMeters all three or none."""
    query = case.query or {}
    given = [name for name in ("latitude", "longitude", "radiusMeters") if query.get(name) not in (None, "")]
    if len(given) not in (0, 3):
        return True
    try:
        start = datetime.fromisoformat(str(query.get("startDate")))
        end = datetime.fromisoformat(str(query.get("endDate")))
    except ValueError:
        return False
    return start > end


URL_POLICY_REFUSALS = ("did not resolve", "This server's address")
# A share's rules that depend on the clock, on several fields at once or on the owner's trips.
SHARE_RULES = ("expiresAt must be", "startDate must not be after endDate", "go together",
               "tripId must name one of your trips")
MAP_OPERATIONS = ("getMapClusters", "getMapHistogram", "getMapPhotos", "getShareMapClusters",
                  "getShareMapHistogram", "getShareMapPhotos")
CLUSTER_OPERATIONS = ("getMapClusters", "getShareMapClusters")


def map_rule_broken(case: Any) -> bool:
    """The map's rules across parameters: the bounds all four or none (the clusters need
    them), south not above north, west not east of east, a cell only with the bounds."""
    query = case.query or {}
    names = ("west", "south", "east", "north")
    given = [name for name in names if query.get(name) not in (None, "")]
    if cross_parameter_rule_broken(case) or len(given) not in (0, 4):
        return True
    if not given:
        return query.get("cell") not in (None, "") or case.operation.definition.raw.get("operationId") in \
            CLUSTER_OPERATIONS
    try:
        west, south, east, north = (float(query[name]) for name in names)
    except (TypeError, ValueError):
        return False
    return south > north or west > east


def rejection_explained(case: Any, response: Any) -> bool:
    """A 400 for schema-valid input that the contract still refuses: a cross-parameter rule
    of the search (or of another date range), a track file that cannot be read, or a server
    URL whose address the operator's policy does not allow (only the fake Immich resolves here)."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return False
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id in ("searchPhotos", "getTrackPath", "reviewEstimates"):
        return cross_parameter_rule_broken(case)
    if operation_id in MAP_OPERATIONS:
        return map_rule_broken(case)
    if operation_id == "importTrack":
        return True  # no schema says what a readable track file is: the 400 names what is wrong with it
    if operation_id in ("saveImmichConfig", "changeImmichConfig", "testImmichConnection"):
        message = response.json().get("error", "")
        return any(reason in message for reason in URL_POLICY_REFUSALS)
    if operation_id in ("createShare", "updateShare"):
        message = response.json().get("error", "")
        return any(reason in message for reason in SHARE_RULES)
    return False


def assert_envelope_if_error(case: Any, response: Any) -> None:
    if response.status_code < 400:
        return
    label = f"{case.method} {case.formatted_path}"
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), label
    body = response.json()
    assert isinstance(body, dict) and set(body) - {"code"} == {"success", "error"}, (label, body)
    assert body["success"] is False and isinstance(body["error"], str) and body["error"], (label, body)


@fuzzed.parametrize()
@hypothesis_settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document(case, world):
    """Each operation, fed valid and invalid input: no 5xx at all (the fake Immich is
    healthy), every status documented, every body and header as documented, every error
    the envelope."""
    operation_id = case.operation.definition.raw["operationId"]
    headers = world.headers_for(operation_id)
    response = case.call(headers=headers, session=ClosingClient(world.app))
    excluded = [positive_data_acceptance] if rejection_explained(case, response) else []
    case.validate_response(response, headers=headers, excluded_checks=excluded)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    assert_envelope_if_error(case, response)


# ------------------------------------------------------------------ known-good requests


def operation(schema: Any, path: str, method: str) -> Any:
    return schema[path][method.upper()]


def call(world: World, case: Any, headers: dict[str, str]) -> Any:
    """Send a hand-made case to the app and check the answer against the document."""
    return case.call_and_validate(headers=headers, session=ClosingClient(world.app))


def test_real_photos_conform_to_the_document(world):
    """What random ids cannot reach: real photos from the fake Immich, their thumbnails
    (200, 304), originals (200, 206, 416) and the connection test, checked against the document."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", world.app, config=fuzz_config())
    alice = bearer(world.alice["accessToken"])
    user_id = world.alice["user"]["id"]

    search = operation(schema, "/api/users/{userRef}/immich/photos/search", "get")
    paris = {**RANGE, "latitude": 48.8566, "longitude": 2.3522, "radiusMeters": 50000}
    for ref, query in (("me", RANGE), (user_id, paris)):
        data = call(world, search.Case(path_parameters={"userRef": ref}, query=query), alice).json()["data"]
        photos = data["photos"]
        assert photos and data["totalCount"] == len(photos)
    photo_id = photos[0]["id"]
    assert photos[0]["thumbnailUrl"] == f"/api/users/{user_id}/immich/photos/{photo_id}/thumbnail"

    thumbnail = operation(schema, "/api/users/{userRef}/immich/photos/{photoId}/thumbnail", "get")
    path_parameters = {"userRef": "me", "photoId": photo_id}
    for size in ("thumbnail", "preview"):
        response = call(world, thumbnail.Case(path_parameters=path_parameters, query={"size": size}), alice)
        assert response.status_code == 200 and response.headers["content-type"][0].startswith("image/")
    conditional = thumbnail.Case(path_parameters=path_parameters, query={"size": "preview"},
                                 headers={"If-None-Match": response.headers["etag"][0]})
    assert call(world, conditional, alice).status_code == 304

    download = operation(schema, "/api/users/{userRef}/immich/photos/{photoId}/download", "get")
    for range_header, status in ((None, 200), ("bytes=0-99", 206), ("bytes=999999999-", 416)):
        case = download.Case(path_parameters=path_parameters, headers={"Range": range_header} if range_header else {})
        response = call(world, case, alice)
        assert response.status_code == status, response.text

    missing = thumbnail.Case(path_parameters={"userRef": "me", "photoId": str(uuid.uuid4())})
    assert call(world, missing, alice).status_code == 404

    test = operation(schema, "/api/users/me/immich-config/test", "post")
    report = call(world, test.Case(), alice).json()["data"]
    assert report["reachable"] is True and report["missingPermissions"] == []
    wrong_key = test.Case(body={"serverUrl": world.fake.url, "apiKey": "wrong"})
    assert call(world, wrong_key, alice).json()["data"]["reachable"] is False


def test_a_shares_map_conforms_to_the_document(world):
    """What random tokens cannot reach: a real share's clusters, counts over time and photos,
    checked against the document."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", world.app, config=fuzz_config())
    alice = bearer(world.alice["accessToken"])
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    create = operation(schema, "/api/users/{userRef}/shares", "post")
    body = {"name": "Paris", **RANGE, "expiresAt": expires, "locationPrecision": "100m", "allowDownload": True}
    share = call(world, create.Case(path_parameters={"userRef": "me"}, body=body), alice).json()["data"]
    token = share["url"].removeprefix("/s/")
    paths = {"token": token}
    world_view = {**RANGE, "west": -180, "south": -85, "east": 180, "north": 85, "zoom": 0}
    clusters = operation(schema, "/api/shares/{token}/map/clusters", "get")
    found = call(world, clusters.Case(path_parameters=paths, query=world_view), {}).json()["data"]
    assert found["clusters"] and found["inViewCount"] > 0
    histogram = operation(schema, "/api/shares/{token}/map/histogram", "get")
    bars = call(world, histogram.Case(path_parameters=paths, query=RANGE), {}).json()["data"]
    assert sum(b["count"] for b in bars["bins"]) == bars["count"] > 0
    photos = operation(schema, "/api/shares/{token}/map/photos", "get")
    cell = {**world_view, "cell": found["clusters"][0]["cell"], "limit": 5}
    page = call(world, photos.Case(path_parameters=paths, query=cell), {}).json()["data"]
    assert page["photos"] and page["photos"][0]["downloadUrl"].startswith(f"/api/shares/{token}/photos/")

    # Trips are found in the library index, which is off here: a share of one is a 409 that says so.
    by_trip = create.Case(path_parameters={"userRef": "me"},
                          body={"name": "A trip", "tripId": "0123456789abcdef", "expiresAt": expires})
    response = call(world, by_trip, alice)
    assert response.status_code == 409 and "index" in response.json()["error"]


def test_sessions_and_settings_conform_to_the_document(world):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", world.app, config=fuzz_config())
    carol = bearer(world.carol["accessToken"])
    config_path = "/api/users/{userRef}/immich-config"
    read = operation(schema, config_path, "get").Case(path_parameters={"userRef": "me"})
    assert call(world, read, carol).json()["data"] == {"serverUrl": world.fake.url, "enabled": True}
    for _ in range(2):  # deleting what is not there is also 200
        deleted = operation(schema, config_path, "delete").Case(path_parameters={"userRef": "me"})
        assert call(world, deleted, carol).status_code == 200
    assert call(world, read, carol).json()["data"] is None
    test = operation(schema, "/api/users/me/immich-config/test", "post").Case()
    assert call(world, test, carol).status_code == 409

    refresh = operation(schema, "/api/auth/refresh", "post").Case()
    renewed = call(world, refresh, bearer(world.carol["refreshToken"])).json()["data"]["accessToken"]
    logout = operation(schema, "/api/auth/logout", "post").Case()
    assert call(world, logout, bearer(renewed)).status_code == 200
    # The logout ended carol's whole session, the access token of her login included.
    assert call(world, operation(schema, "/api/users/me", "get").Case(), carol).status_code == 401


@pytest.mark.parametrize("start, end", [
    ("0001-01-01T00:00:00+01:00", "2024-01-01T00:00:00Z"),
    ("2024-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"),
    ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
])
def test_dates_at_the_ends_of_the_calendar_conform_to_the_document(world, start, end):
    """Valid date-times whose UTC form falls outside years 1-9999 are the client's mistake
    (400) or a search (200), never a server error."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", world.app, config=fuzz_config())
    search = operation(schema, "/api/users/{userRef}/immich/photos/search", "get")
    case = search.Case(path_parameters={"userRef": "me"}, query={"startDate": start, "endDate": end})
    response = call(world, case, bearer(world.alice["accessToken"]))
    assert response.status_code in (200, 400), response.text
