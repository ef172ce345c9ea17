"""A phone-sized touch screen, and twenty thousand photos at once."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from fake_immich import FakeImmich
from tests.browser.conftest import screenshot, sign_in
from tests.browser.helpers import (
    CLUSTERS_PATH,
    SEARCH_PATH,
    marker_total,
    open_cluster_locator,
    open_range,
    timeline_total,
    wait_for_state,
)

pytestmark = pytest.mark.browser

FIRST, LAST = date(2024, 1, 1), date(2024, 12, 31)


def swipe(page: Page, selector: str, dx: int) -> None:
    """A one-finger horizontal swipe across the middle of an element, as touch events."""
    box = page.locator(selector).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    session = page.context.new_cdp_session(page)
    session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 6):
        point = {"x": x + dx * step / 5, "y": y}
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    # The finger rests before it lifts: a fling would make Chromium swallow the next tap.
    page.wait_for_timeout(150)
    session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


def test_tap_previews_then_view_opens_the_grid_and_the_viewer(phone: BrowserContext, fake: FakeImmich) -> None:
    page = phone.new_page()
    open_range(page, FIRST, LAST)
    screenshot(page, "phone-map")
    cluster = open_cluster_locator(page)
    count = int(cluster.inner_text().split()[0])

    cluster.tap()
    preview = page.locator("#map-preview")
    expect(preview).to_be_visible()
    expect(preview.locator(".preview-title")).to_have_text(f"{count} photos")
    expect(page.locator("#viewer")).to_be_hidden()
    # The button must still work well after the first second (it used to stop then).
    page.wait_for_timeout(1600)
    expect(preview).to_be_visible()
    view = preview.get_by_role("button", name=f"View {count} photos")
    expect(view).to_be_visible()
    screenshot(page, "phone-preview")
    view.tap()
    grid = page.locator("#grid-panel")
    expect(grid).to_be_visible()
    expect(page.locator("#grid-count")).to_have_text(f"{count} photos")
    box = grid.bounding_box()
    assert box is not None and box["width"] == 390
    screenshot(page, "phone-grid")

    page.locator(".grid-thumb").first.tap()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("data-state", "ready")
    expect(page.locator("#viewer-counter")).to_have_text(f"1 of {count}")
    box = viewer.bounding_box()
    assert box is not None and box["width"] == 390
    download = page.get_by_role("link", name="Download original").bounding_box()
    assert download is not None and download["y"] + download["height"] <= 844
    screenshot(page, "phone-viewer")

    swipe(page, "#viewer-stage", -150)
    expect(page.locator("#viewer-counter")).to_have_text(f"2 of {count}")
    swipe(page, "#viewer-stage", 150)
    expect(page.locator("#viewer-counter")).to_have_text(f"1 of {count}")
    page.get_by_role("button", name="Close", exact=True).tap()
    expect(viewer).to_be_hidden()
    page.get_by_role("button", name="Close the photos").tap()
    expect(grid).to_be_hidden()

    # A second tap on the cluster zooms in to its photos.
    cluster = open_cluster_locator(page)
    cluster.tap()
    expect(preview).to_be_visible()
    with page.expect_request(f"**{CLUSTERS_PATH}*"):
        cluster.tap()


def synthetic_search(count: int) -> str:
    """A search answer of `count` located photos around Europe, one year, sorted by time."""
    rng = random.Random(20_000)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    photos = []
    for i in range(count):
        taken = start + timedelta(seconds=rng.randrange(366 * 86_400))
        photo_id = f"00000000-0000-4000-8000-{i:012d}"
        photos.append(
            {
                "id": photo_id,
                "originalFileName": f"IMG_{i:05d}.jpg",
                "takenAt": taken.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "latitude": round(rng.uniform(36, 60), 6),
                "longitude": round(rng.uniform(-9, 30), 6),
                "thumbnailUrl": f"/api/users/me/immich/photos/{photo_id}/thumbnail",
                "downloadUrl": f"/api/users/me/immich/photos/{photo_id}/download",
                "type": "IMAGE",
            }
        )
    photos.sort(key=lambda p: (p["takenAt"], p["id"]))
    return json.dumps({"success": True, "data": {"photos": photos, "totalCount": count}})


def test_twenty_thousand_photos_cluster_without_freezing(context: BrowserContext, page: Page) -> None:
    sign_in(context)
    body = synthetic_search(20_000)

    def answer(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=body)

    page.route(f"**{SEARCH_PATH}*", answer)
    # Thumbnails of made-up ids: a 1x1 GIF, so nothing reaches the fake.
    page.route(
        "**/immich/photos/*/thumbnail*",
        lambda route: route.fulfill(
            status=200,
            content_type="image/gif",
            body=bytes.fromhex(
                "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
            ),
        ),
    )
    page.add_init_script(
        """
        window.__longestTask = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) {
            window.__longestTask = Math.max(window.__longestTask, entry.duration);
          }
        }).observe({ type: "longtask", buffered: true });
        """
    )
    # Near a place the photos within the radius are clustered in the page, as before.
    page.goto(f"/?preset=custom&from={FIRST}&to={LAST}&lat=48&lon=10&radius=500000")
    wait_for_state(page, "ready", timeout=60_000)
    assert marker_total(page) == 20_000
    assert timeline_total(page) == 20_000
    expect(page.locator("#summary")).to_have_text("20000 photos · 20000 on the map")
    # Built in chunks: the page never stops answering for long (a loose bound for slow machines).
    longest = page.evaluate("() => window.__longestTask")
    assert longest < 2_500, f"the main thread was blocked for {longest:.0f} ms"
    # Only the days near the visible part of the strip have thumbnails yet.
    assert page.locator("#timeline-strip img").count() < 1_000
    screenshot(page, "map-20000")
