"""The map timeline against the fake Immich: what is drawn must be what Immich holds."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from fake_immich import ALICE_KEY, FakeImmich
from tests.browser.conftest import LiveServer, configure_immich, screenshot, sign_in
from tests.browser.helpers import (
    SEARCH_PATH,
    day_bounds,
    lone_photo_day,
    marker_total,
    open_range,
    range_url,
    search_params,
    timeline_total,
    wait_for_state,
    with_gps,
)

pytestmark = pytest.mark.browser

FIRST, LAST = date(2024, 1, 1), date(2024, 12, 31)


@pytest.fixture
def alice(context: BrowserContext) -> BrowserContext:
    sign_in(context)
    return context


def test_a_year_of_photos_is_all_on_the_map_and_timeline(
    alice: BrowserContext, page: Page, fake: FakeImmich, live_server: LiveServer
) -> None:
    expected = fake.expected_search(ALICE_KEY, *day_bounds(FIRST, LAST))
    placed = with_gps(fake, expected)
    assert len(placed) < len(expected), "the fake should hold photos without a location"

    with page.expect_response(f"**{SEARCH_PATH}*") as search:
        open_range(page, FIRST, LAST)
    assert search_params(search.value.url) == {
        "startDate": "2024-01-01T00:00:00Z",
        "endDate": "2024-12-31T23:59:59Z",
    }
    assert [p["id"] for p in search.value.json()["data"]["photos"]] == expected

    expect(page.locator("#summary")).to_have_text(
        f"{len(expected)} photos · {len(placed)} on the map · {len(expected) - len(placed)} without location"
    )
    assert marker_total(page) == len(placed)
    assert page.locator(".photo-cluster").count() >= 2
    assert timeline_total(page) == len(expected)
    # The page holds neither the Immich address nor the key.
    html = page.content()
    assert fake.url not in html and ALICE_KEY not in html
    assert fake.url not in search.value.text()
    # The map draws its tiles from TILE_URL (here the tests' own blank tile).
    assert live_server.tile_requests
    screenshot(page, "map-year")


def test_presets_search_the_ranges_they_name(alice: BrowserContext, page: Page) -> None:
    open_range(page, FIRST, LAST)
    with page.expect_request(f"**{SEARCH_PATH}*") as request:
        page.get_by_label("This month").check()
    params = search_params(request.value.url)
    assert params["startDate"].endswith("-01T00:00:00Z")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T23:59:59Z", params["endDate"])
    assert "preset=month" in page.url

    with page.expect_request(f"**{SEARCH_PATH}*") as request:
        page.get_by_label("This year").check()
    params = search_params(request.value.url)
    assert re.fullmatch(r"\d{4}-01-01T00:00:00Z", params["startDate"])
    assert re.fullmatch(r"\d{4}-12-31T23:59:59Z", params["endDate"])

    page.get_by_label("Custom").check()
    page.locator("#date-from").fill("2023-03-01")
    page.locator("#date-to").fill("2023-02-01")
    page.get_by_role("button", name="Show photos").click()
    expect(page.locator("#map-status")).to_contain_text("The start date is after the end date.")


def test_hovering_a_marker_and_a_cluster_shows_previews(alice: BrowserContext, page: Page, fake: FakeImmich) -> None:
    day, photo_id = lone_photo_day(fake, FIRST, LAST)
    open_range(page, day, day)
    marker = page.locator(".photo-marker")
    expect(marker).to_have_count(1)
    preview = page.locator("#map-preview")
    marker.hover()
    expect(preview).to_be_visible()
    expect(preview.locator(".preview-title")).to_have_text(fake.asset(photo_id).original_file_name)
    expect(preview.locator(".preview-meta")).to_contain_text(day.strftime("%-d %b %Y"))
    expect(preview.locator("img")).to_have_js_property("complete", True)
    assert preview.locator("img").evaluate("img => img.naturalWidth") > 0
    page.mouse.move(5, 5)
    expect(preview).to_be_hidden()

    open_range(page, FIRST, LAST)
    cluster = page.locator(".photo-cluster").first
    count = int(cluster.inner_text().split()[0])
    cluster.hover()
    expect(preview).to_be_visible()
    expect(preview.locator(".preview-title")).to_have_text(f"{count} photos")
    expect(preview.locator(".preview-grid img")).to_have_count(min(count, 4))
    expect(preview.locator(".preview-meta")).to_contain_text("–")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#map-preview img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    screenshot(page, "map-cluster-preview")
    page.mouse.move(5, 5)
    expect(preview).to_be_hidden()


def test_viewer_steps_through_a_cluster_and_downloads_the_original(
    alice: BrowserContext, page: Page, fake: FakeImmich
) -> None:
    open_range(page, FIRST, LAST)
    cluster = page.locator(".photo-cluster").first
    count = int(cluster.inner_text().split()[0])
    cluster.click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("data-state", "ready")
    counter = page.locator("#viewer-counter")
    expect(counter).to_have_text(f"1 of {count}")
    first_title = page.locator("#viewer-title").inner_text()
    image = page.locator("#viewer-image")
    assert image.evaluate("img => img.naturalWidth") > 0
    assert (image.get_attribute("src") or "").startswith("blob:")
    screenshot(page, "viewer")

    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"2 of {count}")
    expect(page.locator("#viewer-title")).not_to_have_text(first_title)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text(f"{count} of {count}")
    page.get_by_role("button", name="Next photo").click()
    expect(counter).to_have_text(f"1 of {count}")
    expect(page.locator("#viewer-title")).to_have_text(first_title)
    expect(page.locator("#viewer-coords")).to_have_text(re.compile(r"^-?\d+\.\d{5}, -?\d+\.\d{5}$"))

    # Focus stays inside the dialog.
    for _ in range(6):
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('viewer').contains(document.activeElement)")

    href = page.locator("#viewer-download").get_attribute("href") or ""
    photo_id = unquote(href).split("/photos/")[1].split("/")[0]
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download original").click()
    download = download_info.value
    assert download.suggested_filename
    assert Path(download.path()).read_bytes() == fake.original_bytes(photo_id)

    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def test_timeline_day_highlights_its_markers_and_opens_the_viewer(
    alice: BrowserContext, page: Page, fake: FakeImmich
) -> None:
    open_range(page, FIRST, LAST)
    day = page.locator("#timeline-strip .day").first
    expect(page.locator(".is-highlighted")).to_have_count(0)
    day.locator(".day-head").hover()
    expect(day).to_have_class(re.compile(r"\bis-active\b"))
    assert page.locator(".leaflet-marker-pane .is-highlighted").count() >= 1
    page.locator("#filters").hover()
    expect(page.locator(".is-highlighted")).to_have_count(0)

    thumb = day.locator(".thumb").first
    expected_name = fake.asset(thumb.get_attribute("data-photo-id") or "").original_file_name
    thumb.click()
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-title")).to_have_text(expected_name)
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()
    # Focus returns to what opened the viewer.
    assert thumb.evaluate("el => el === document.activeElement")


def test_radius_filter_from_a_click_on_the_map(alice: BrowserContext, page: Page, fake: FakeImmich) -> None:
    # An empty year first, so the click lands on the map and not on a marker.
    page.goto(range_url(date(2019, 1, 1), date(2019, 12, 31)))
    wait_for_state(page, "empty")
    page.get_by_label("Only near a place").check()
    expect(page.locator("#location-hint")).to_have_text("Click the map to choose the centre.")
    with page.expect_request(f"**{SEARCH_PATH}*latitude*") as request:
        page.locator("#map").click(position={"x": 300, "y": 250})
    params = search_params(request.value.url)
    assert params["radiusMeters"] == "10000"
    assert -90 <= float(params["latitude"]) <= 90 and -180 <= float(params["longitude"]) <= 180
    expect(page.locator("#location-hint")).to_contain_text("Centre ")
    expect(page.locator("path.location-circle")).to_have_count(1)
    wait_for_state(page, "empty")
    expect(page.locator("#map-status")).to_contain_text("within 10 km of the chosen place")

    # A real centre: Paris, where the fake keeps many photos.
    open_range(page, FIRST, LAST, lat=48.8566, lon=2.3522, radius=10000)
    expect(page.get_by_label("Only near a place")).to_be_checked()
    expected = fake.expected_search(ALICE_KEY, *day_bounds(FIRST, LAST), lat=48.8566, lon=2.3522, radius_m=10000)
    assert expected
    assert marker_total(page) == len(expected)
    assert timeline_total(page) == len(expected)
    screenshot(page, "map-radius")

    radius = page.locator("#radius")
    with page.expect_response(f"**{SEARCH_PATH}*radiusMeters=2000*") as search:
        radius.fill("4")
    assert search.value.ok
    expect(page.locator("#radius-value")).to_have_text("2 km")
    wait_for_state(page, "ready", "empty")
    narrower = fake.expected_search(ALICE_KEY, *day_bounds(FIRST, LAST), lat=48.8566, lon=2.3522, radius_m=2000)
    assert len(search.value.json()["data"]["photos"]) == len(narrower)

    with page.expect_request(f"**{SEARCH_PATH}*") as request:
        page.get_by_role("button", name="Clear").click()
    assert "latitude" not in search_params(request.value.url)
    expect(page.locator("path.location-circle")).to_have_count(0)
    wait_for_state(page, "ready")
    assert marker_total(page) == len(with_gps(fake, fake.expected_search(ALICE_KEY, *day_bounds(FIRST, LAST))))


def test_a_range_without_photos_says_so(alice: BrowserContext, page: Page) -> None:
    page.goto(range_url(date(2019, 3, 1), date(2019, 3, 31)))
    wait_for_state(page, "empty")
    expect(page.locator("#map-status")).to_contain_text("No photos found")
    expect(page.locator("#timeline-strip")).to_contain_text("No photos in this range.")
    assert page.locator(".photo-marker, .photo-cluster").count() == 0
    screenshot(page, "map-empty")


def test_immich_down_shows_an_error_and_retry_recovers(alice: BrowserContext, page: Page, fake: FakeImmich) -> None:
    fake.set_fault("down")
    page.goto(range_url(FIRST, LAST))
    wait_for_state(page, "error")
    expect(page.locator("#map-status")).to_contain_text("Your photos could not be loaded")
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    screenshot(page, "map-error")

    fake.set_fault(None)
    retry.click()
    wait_for_state(page, "ready")
    expected = fake.expected_search(ALICE_KEY, *day_bounds(FIRST, LAST))
    assert timeline_total(page) == len(expected)


def test_without_immich_settings_the_map_links_to_settings(context: BrowserContext, page: Page, new_user: str) -> None:
    sign_in(context, new_user)
    page.goto(range_url(FIRST, LAST))
    # The first visit is welcomed before any search (tests/browser/test_first_run.py).
    page.wait_for_url("**/welcome")
    screenshot(page, "map-not-configured")
    page.get_by_role("link", name="Connect your Immich server").click()
    page.wait_for_url("**/settings?welcome=1")


def test_viewer_falls_back_to_the_thumbnail_then_offers_a_retry(alice: BrowserContext, page: Page) -> None:
    open_range(page, FIRST, LAST)
    page.route("**/thumbnail?size=preview", lambda route: route.fulfill(status=502, body="{}"))
    page.locator(".photo-cluster").first.click()
    viewer = page.locator("#viewer")
    expect(viewer).to_have_attribute("data-state", "ready")
    # The large preview failed, so the thumbnail fills in.
    assert page.locator("#viewer-image").evaluate("img => img.naturalWidth") > 0
    page.keyboard.press("Escape")

    page.route("**/thumbnail?size=thumbnail", lambda route: route.fulfill(status=502, body="{}"))
    page.locator(".photo-cluster").nth(1).click()
    expect(viewer).to_have_attribute("data-state", "error")
    expect(page.locator("#viewer-error")).to_contain_text("This photo could not be loaded.")
    screenshot(page, "viewer-error")

    page.unroute("**/thumbnail?size=preview")
    page.unroute("**/thumbnail?size=thumbnail")
    page.get_by_role("button", name="Try again").click()
    expect(viewer).to_have_attribute("data-state", "ready")


def test_keyboard_opens_a_marker_and_gets_focus_back(alice: BrowserContext, page: Page) -> None:
    open_range(page, FIRST, LAST)
    cluster = page.locator(".photo-cluster").first
    count = int(cluster.inner_text().split()[0])
    cluster.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer-counter")).to_have_text(f"1 of {count}")
    assert page.evaluate("() => document.activeElement.id") == "viewer-close"
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()
    assert cluster.evaluate("el => el === document.activeElement")


def test_an_expired_access_token_is_renewed_for_images_and_searches(alice: BrowserContext, page: Page) -> None:
    open_range(page, FIRST, LAST)
    alice.clear_cookies(name="access_token_cookie")
    with page.expect_response("**/api/auth/refresh") as refresh:
        page.locator(".photo-cluster").first.click()
    assert refresh.value.status == 200
    expect(page.locator("#viewer")).to_have_attribute("data-state", "ready")
    assert page.locator("#viewer-image").evaluate("img => img.naturalWidth") > 0
    page.keyboard.press("Escape")

    alice.clear_cookies(name="access_token_cookie")
    with page.expect_response("**/api/auth/refresh") as refresh:
        page.get_by_role("button", name="Show photos").click()
    assert refresh.value.status == 200
    wait_for_state(page, "ready")
    assert "login" not in page.url


def test_switched_off_immich_is_named_on_the_map(
    context: BrowserContext, page: Page, new_user: str, live_server: LiveServer, fake: FakeImmich
) -> None:
    configure_immich(live_server.app, new_user, fake.url, ALICE_KEY, enabled=False)
    sign_in(context, new_user)
    page.goto(range_url(FIRST, LAST))
    wait_for_state(page, "not-configured")
    expect(page.locator("#map-status")).to_contain_text("Immich is switched off in your settings")
    expect(page.get_by_role("link", name="Open Settings")).to_be_visible()


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("immich_not_configured", "Connect your Immich server first"),
        ("immich_disabled", "Immich is switched off in your settings"),
        ("immich_key_unreadable", "Your stored Immich key cannot be read"),
    ],
)
def test_the_map_names_what_to_fix_by_the_errors_code_not_its_wording(
    alice: BrowserContext, page: Page, code: str, title: str
) -> None:
    # The same neutral wording for every code: only the code can choose the title.
    body = json.dumps({"success": False, "error": "Immich cannot be used yet: see Settings", "code": code})

    def answer(route: Route) -> None:
        route.fulfill(status=409, content_type="application/json", body=body)

    page.route(f"**{SEARCH_PATH}*", answer)
    page.goto(range_url(FIRST, LAST))
    wait_for_state(page, "not-configured")
    expect(page.locator("#map-status .map-status-title")).to_have_text(title)
    expect(page.locator("#map-status .map-status-detail")).to_have_text("Immich cannot be used yet: see Settings")
    expect(page.get_by_role("link", name="Open Settings")).to_be_visible()
    expect(page.locator("#timeline-strip")).to_have_text("Your photos will appear here once Immich is set up.")


def test_file_names_are_shown_as_text_never_as_markup(alice: BrowserContext, page: Page, fake: FakeImmich) -> None:
    for key in ("hostile", "non_ascii"):
        asset = fake.asset(str(fake.special[key]))
        day = asset.taken.date()
        open_range(page, day, day)
        page.locator(f'.thumb[data-photo-id="{asset.id}"]').click()
        expect(page.locator("#viewer-title")).to_have_text(asset.original_file_name)
        page.keyboard.press("Escape")
        assert page.locator(".leaflet-marker-pane script, .leaflet-marker-pane [onerror]").count() == 0
