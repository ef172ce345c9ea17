"""Location history in the browser: a track uploaded in Settings, and a photo without GPS
shown on the map from it, hollow, with its accuracy in the viewer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from fake_immich import ALICE_KEY, FakeImmich
from service.components import components
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.browser.helpers import open_range, wait_for_state

pytestmark = pytest.mark.browser

ESTIMATES_PATH = "/api/users/me/tracks/estimates"
DAY = date(2033, 3, 14)  # far from the sample library's years, so other tests see none of it


@pytest.fixture
def alice(context: BrowserContext) -> BrowserContext:
    sign_in(context)
    return context


def test_an_estimated_photo_is_drawn_hollow_with_its_accuracy(
    alice: BrowserContext, page: Page, fake: FakeImmich, live_server: LiveServer, tmp_path: Path
) -> None:
    start = datetime(2033, 3, 14, 9, tzinfo=UTC)
    fake.add_assets(
        ALICE_KEY,
        {"taken": start, "latitude": 38.72, "longitude": -9.14},
        {"taken": start + timedelta(minutes=10), "true_latitude": 38.725, "true_longitude": -9.145},
        {"taken": start + timedelta(minutes=20), "latitude": 38.73, "longitude": -9.15},
    )
    # The library index learns of the new photos.
    assert page.request.post("/api/users/me/immich/index/sync", headers={
        "X-CSRF-TOKEN": next(c["value"] for c in alice.cookies() if c["name"] == "csrf_access_token")}).ok
    assert components(live_server.app).index_syncer.wait_idle(30)
    track = tmp_path / "walk.gpx"
    track.write_text(fake.gpx_track(ALICE_KEY, start, start + timedelta(minutes=20), every_seconds=10))

    page.goto("/settings")
    page.set_input_files("#track-file", str(track))
    page.click("#track-upload-button")
    expect(page.locator("#tracks-status")).to_contain_text("Imported")
    expect(page.locator("#tracks-table")).to_be_visible()

    open_range(page, DAY, DAY)
    expect(page.locator("#summary")).to_have_text("3 photos · 2 in this view · 1 without location")
    with page.expect_response(lambda r: ESTIMATES_PATH in r.url):
        page.check("#show-estimated")
    wait_for_state(page, "ready")
    expect(page.locator("#summary")).to_have_text("3 photos · 2 in this view · 1 estimated")
    estimated = page.locator("path.photo-marker--estimated")
    expect(estimated).to_have_count(1)
    expect(page.locator("path.track-line").first).to_be_attached()
    screenshot(page, "tracks-estimated-marker")
    estimated.click()
    expect(page.locator("#viewer-coords")).to_contain_text("estimated ±")
