"""The whole-library map: clusters across the antimeridian, the scrubber, the grid of ten
thousand photos, thumbhash placeholders and the page's answers to a slow or syncing library."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from fake_immich import BOB_KEY, FakeImmich
from tests.browser import helpers
from tests.browser.conftest import LiveServer, configure_immich, screenshot, sign_in
from tests.browser.helpers import marker_total, open_range, wait_for_map, zoom_out_once

pytestmark = pytest.mark.browser

FIRST, LAST = date(2024, 1, 1), date(2024, 12, 31)
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
# A real thumbhash (a landscape photo of a blue sky over a field).
THUMBHASH = "1QcSHQRnh493V4dIh4eXh1h4kJUI"


@pytest.fixture
def alice(context: BrowserContext) -> BrowserContext:
    sign_in(context)
    return context


def ok(route: Route, data: object) -> None:
    route.fulfill(status=200, content_type="application/json", body=json.dumps({"success": True, "data": data}))


def test_photos_either_side_of_the_antimeridian_cluster_together(
    context: BrowserContext, page: Page, new_user: str, live_server: LiveServer, fake: FakeImmich
) -> None:
    taken = datetime(1999, 7, 1, 12, tzinfo=UTC)
    created = int(taken.timestamp() * 1000)
    fake.add_assets(
        BOB_KEY,
        {"taken": taken, "name": "suva.jpg", "latitude": -17.7, "longitude": 179.9, "created_ms": created},
        {"taken": taken + timedelta(hours=1), "name": "taveuni.jpg", "latitude": -17.8, "longitude": -179.9,
         "created_ms": created + 3_600_000},
    )
    configure_immich(live_server.app, new_user, fake.url, BOB_KEY)
    sign_in(context, new_user)
    open_range(page, date(1999, 1, 1), date(1999, 12, 31))
    # Framed on the two: both on one screen, not at its opposite edges.
    assert marker_total(page) == 2, page.locator("#summary").inner_text()
    boxes = [m.bounding_box() for m in page.locator(".photo-marker, .photo-cluster").all()]
    assert all(box is not None for box in boxes)
    xs = [box["x"] for box in boxes if box]
    assert max(xs) - min(xs) < 700
    # Zoomed out, they are one cluster of two.
    while not page.locator(".photo-cluster").count() and zoom_out_once(page):
        pass
    expect(page.locator(".photo-cluster .photo-cluster-count")).to_have_text("2")
    screenshot(page, "map-fiji")


def test_dragging_the_scrubber_narrows_the_map_at_most_every_150_ms(alice: BrowserContext, page: Page) -> None:
    open_range(page, FIRST, LAST)
    requests: list[tuple[float, str]] = []
    page.on("request", lambda r: requests.append((time.monotonic(), r.url)) if helpers.CLUSTERS_PATH in r.url else None)
    bars = page.locator(".scrubber-bars")
    box = bars.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 5, y)
    page.mouse.down()
    started = time.monotonic()
    for step in range(1, 21):
        page.mouse.move(box["x"] + 5 + step * box["width"] * 0.02, y)
        page.wait_for_timeout(40)
    page.mouse.up()
    dragged = time.monotonic() - started
    wait_for_map(page)
    during = [t for t, _ in requests if t <= started + dragged]
    # The map follows the drag (several updates), but no faster than one request per 150 ms.
    assert 2 <= len(during) <= dragged / 0.15 + 2, (len(during), dragged)
    last = helpers.search_params(requests[-1][1])
    assert last["startDate"] == "2024-01-01T00:00:00Z"
    assert last["endDate"] < "2024-12-01"
    # The bars count by capture time, the range selects by upload time: near enough, not equal.
    label = page.locator(".scrubber-label").inner_text()
    count = int(re.search(r"· ([\d,]+) photos", label).group(1).replace(",", ""))  # type: ignore[union-attr]
    in_view = int(page.locator("#summary").inner_text().split(" · ")[1].split()[0])
    assert abs(in_view - count) <= max(3, count * 0.2), (in_view, count)
    assert marker_total(page) == in_view
    screenshot(page, "map-scrubbed")

    page.get_by_role("button", name="Whole range").click()
    wait_for_map(page)
    assert "2024-12-31" in helpers.search_params(requests[-1][1])["endDate"]

    # Play steps through time on its own; Pause stops it.
    before = len(requests)
    page.get_by_role("button", name="Play through time").click()
    page.wait_for_timeout(2000)
    page.get_by_role("button", name="Pause").click()
    assert len(requests) - before >= 2


def test_a_long_live_search_shows_progress_and_can_be_cancelled(alice: BrowserContext, page: Page) -> None:
    held: list[Route] = []
    # Immich takes its time: the request is held, never answered.
    page.route(f"**{helpers.CLUSTERS_PATH}*", lambda route: held.append(route))
    page.goto(helpers.range_url(FIRST, LAST))
    status = page.locator("#map-status")
    expect(status).to_contain_text("Searching your photos in Immich…")
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible()
    screenshot(page, "map-slow-search")
    cancel.click()
    expect(status).to_be_hidden()
    expect(page.get_by_role("button", name="Show photos")).to_be_enabled()


def test_while_the_index_syncs_a_banner_shows_its_progress(alice: BrowserContext, page: Page) -> None:
    polls = {"n": 0}

    def index(route: Route) -> None:
        polls["n"] += 1
        syncing = polls["n"] < 3
        ok(route, {
            "status": "syncing" if syncing else "ready", "indexedCount": 1000 * polls["n"], "refreshing": False,
            "lastSyncedAt": None, "lastError": None,
            "progress": {"done": 1000 * polls["n"], "total": 5000} if syncing else None,
        })

    page.route("**/api/users/me/immich/index", index)
    open_range(page, FIRST, LAST)
    banner = page.locator("#index-banner")
    expect(banner).to_contain_text(re.compile(r"Indexing your library: [12],000 of 5,000 photos"))
    screenshot(page, "map-index-banner")
    # Polled every 2 s until the sync is done; then the banner goes.
    expect(banner).to_be_hidden(timeout=10_000)
    assert polls["n"] == 3


def grid_routes(page: Page, total: int) -> None:
    """A view holding `total` photos in one cluster, its photos made up page by page."""
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def clusters(route: Route) -> None:
        ok(route, {"clusters": [{"cell": "1:1", "count": total, "latitude": 48.85, "longitude": 2.35,
                                 "bbox": [2.3, 48.8, 2.4, 48.9], "photoId": "x"}],
                   "inViewCount": total, "totalCount": total, "withoutLocationCount": 0,
                   "source": "index", "indexedAt": "2024-06-01T10:42:00Z"})

    def photos(route: Route) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        offset, limit = int(query["offset"]), int(query["limit"])
        page_of = []
        for n in range(offset, min(total, offset + limit)):
            i = n if query["order"] == "desc" else total - 1 - n
            photo_id = f"00000000-0000-4000-8000-{i:012d}"
            page_of.append({
                "id": photo_id, "originalFileName": f"IMG_{i:05d}.jpg",
                "takenAt": (start + timedelta(hours=total - i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "latitude": 48.85, "longitude": 2.35, "city": None, "country": None, "thumbhash": THUMBHASH,
                "thumbnailUrl": f"/api/users/me/immich/photos/{photo_id}/thumbnail",
                "downloadUrl": f"/api/users/me/immich/photos/{photo_id}/download",
            })
        ok(route, {"photos": page_of, "totalCount": total})

    page.route(f"**{helpers.CLUSTERS_PATH}*", clusters)
    no_bars = {"unit": "week", "bins": [], "count": total}
    page.route(f"**{helpers.MAP_PATH}/histogram*", lambda route: ok(route, no_bars))
    page.route(f"**{helpers.MAP_PATH}/photos*", photos)


def test_ten_thousand_photos_scroll_in_a_grid_that_holds_only_what_is_in_sight(
    alice: BrowserContext, page: Page
) -> None:
    grid_routes(page, 10_000)
    # Thumbnails are slow to come (here: never), so the placeholders show.
    held: list[Route] = []
    page.route("**/immich/photos/*/thumbnail*", lambda route: held.append(route))
    open_range(page, FIRST, LAST)
    page.get_by_role("button", name=re.compile(r"Photos in this view \(10,000\)")).click()
    grid = page.locator("#grid-panel")
    expect(grid.locator("#grid-count")).to_have_text("10,000 photos")
    expect(grid.locator(".grid-thumb").first).to_be_visible()
    # The thumbhash is drawn while the image loads.
    assert page.locator(".grid-thumb .thumb-slot:not(.is-loaded) canvas.thumbhash").count() > 0
    screenshot(page, "grid-placeholders")
    assert grid.locator(".grid-day").first.inner_text()
    assert grid.locator(".grid-thumb").count() < 200

    # Scrolled to the end page by page: the last photo shows, and the DOM stays small.
    scroller = page.locator("#grid-scroll")
    for _ in range(200):
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(60)
        if page.locator('.grid-thumb[aria-label^="IMG_09999.jpg"]').count():
            break
    expect(page.locator('.grid-thumb[aria-label^="IMG_09999.jpg"]')).to_be_visible()
    assert grid.locator(".grid-thumb").count() < 300

    # Oldest first starts from the other end.
    page.get_by_role("button", name="Newest first").click()
    expect(page.locator('.grid-thumb[aria-label^="IMG_00000.jpg"]')).to_have_count(0)
    page.get_by_role("button", name="Close the photos").click()
    expect(grid).to_be_hidden()


def test_a_thumbnail_that_failed_while_immich_was_down_is_tried_again(alice: BrowserContext, page: Page) -> None:
    grid_routes(page, 3)
    tries: dict[str, int] = {}

    def flaky(route: Route) -> None:
        photo = route.request.url.split("/photos/")[1].split("/")[0]
        tries[photo] = tries.get(photo, 0) + 1
        if tries[photo] == 1:
            route.fulfill(status=503, content_type="application/json", body='{"success":false,"error":"down"}')
        else:
            route.fulfill(status=200, content_type="image/gif", body=GIF)

    page.route("**/immich/photos/*/thumbnail*", flaky)
    open_range(page, FIRST, LAST)
    page.locator("#view-photos").click()
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('.grid-thumb img')];"
        " return imgs.length === 3 && imgs.every((img) => img.complete && img.naturalWidth > 0); }",
        timeout=15_000,
    )
    assert all(count == 2 for count in tries.values())


def test_the_no_location_badge_is_part_of_the_thumbnails_name(alice: BrowserContext, page: Page) -> None:
    photo = {
        "id": "00000000-0000-4000-8000-000000000001", "originalFileName": "scan.jpg",
        "takenAt": "2024-03-01T10:00:00Z", "latitude": None, "longitude": None, "thumbhash": THUMBHASH,
        "thumbnailUrl": "/api/users/me/immich/photos/00000000-0000-4000-8000-000000000001/thumbnail",
        "downloadUrl": "/api/users/me/immich/photos/00000000-0000-4000-8000-000000000001/download",
    }
    page.route(f"**{helpers.SEARCH_PATH}*", lambda route: ok(route, {"photos": [photo], "totalCount": 1}))
    page.goto(helpers.range_url(FIRST, LAST, lat=48.8566, lon=2.3522, radius=10000))
    helpers.wait_for_state(page, "ready")
    expect(page.get_by_role("button", name=re.compile(r"^scan\.jpg, .+, no location$"))).to_be_visible()
