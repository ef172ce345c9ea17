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
    CLUSTERS_PATH,
    SEARCH_PATH,
    day_bounds,
    lone_photo_day,
    marker_total,
    open_cluster_locator,
    open_range,
    range_url,
    search_params,
    timeline_total,
    wait_for_map,
    wait_for_state,
    with_gps,
)

pytestmark = pytest.mark.browser

FIRST, LAST = date(2024, 1, 1), date(2024, 12, 31)


@pytest.fixture
def alice(context: BrowserContext) -> BrowserContext:
    sign_in(context)
    return context


def test_a_year_of_photos_is_all_on_the_map_as_the_views_clusters(
    alice: BrowserContext, page: Page, fake: FakeImmich, live_server: LiveServer
) -> None:
    expected = fake.expected_search(ALICE_KEY, *day_bounds(FIRST, LAST))
    placed = with_gps(fake, expected)
    assert len(placed) < len(expected), "the fake should hold photos without a location"
    searches: list[str] = []
    page.on("request", lambda request: searches.append(request.url) if SEARCH_PATH in request.url else None)

    with page.expect_response(f"**{CLUSTERS_PATH}*") as clusters:
        open_range(page, FIRST, LAST)
    params = search_params(clusters.value.url)
    assert (params["startDate"], params["endDate"]) == ("2024-01-01T00:00:00Z", "2024-12-31T23:59:59Z")
    assert {"west", "south", "east", "north", "zoom"} <= set(params)

    # The map is framed on the photos (as far as the world fits); the counts are exact.
    in_view = int(page.locator("#summary").inner_text().split(" · ")[1].split()[0])
    expect(page.locator("#summary")).to_have_text(
        f"{len(expected)} photos · {in_view} in this view · {len(expected) - len(placed)} without location"
    )
    assert len(placed) * 0.8 < in_view <= len(placed)
    assert marker_total(page) == in_view
    assert page.locator(".photo-cluster").count() >= 2
    # Nothing downloads the whole range any more.
    assert searches == []
    expect(page.locator("#scrubber")).to_be_visible()
    expect(page.locator(".scrubber-label")).to_contain_text(re.compile(r" · \d+ photos$"))
    expect(page.locator("#freshness")).to_have_text(re.compile(r"^(Up to date as of .+|Live from Immich)$"))
    # The page holds neither the Immich address nor the key.
    html = page.content()
    assert fake.url not in html and ALICE_KEY not in html
    assert fake.url not in clusters.value.text()
    # The map draws its tiles from TILE_URL (here the tests' own blank tile).
    assert live_server.tile_requests
    screenshot(page, "map-year")


def test_the_first_visit_shows_the_whole_library(alice: BrowserContext, page: Page, fake: FakeImmich) -> None:
    with page.expect_request(f"**{CLUSTERS_PATH}*") as request:
        page.goto("/")
    assert search_params(request.value.url)["startDate"].startswith("1900-01-01")
    wait_for_state(page, "ready")
    wait_for_map(page)
    expect(page.get_by_label("All time")).to_be_checked()
    expect(page.locator("#map-status")).to_be_hidden()
    assert marker_total(page) > 0
    # The bars run from the library's first photo to its last, not from 1900.
    expect(page.locator(".scrubber-label")).not_to_contain_text("1900")


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
    cluster = open_cluster_locator(page)
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


def open_view_grid(page: Page) -> int:
    """Open "Photos in this view"; the number of photos it holds."""
    button = page.locator("#view-photos")
    count = int(re.sub(r"\D", "", button.inner_text()))
    button.click()
    expect(page.locator("#grid-panel")).to_be_visible()
    expect(page.locator("#grid-panel .grid-thumb").first).to_be_visible()
    return count


def test_viewer_steps_through_the_grid_and_downloads_the_original(
    alice: BrowserContext, page: Page, fake: FakeImmich
) -> None:
    open_range(page, FIRST, LAST)
    count = open_view_grid(page)
    expect(page.locator("#grid-count")).to_have_text(f"{count} photos")
    page.locator(".grid-thumb").first.click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("data-state", "ready")
    counter = page.locator("#viewer-counter")
    # The viewer runs through the photos the grid has loaded (a page of 200 to start).
    loaded = min(count, 200)
    expect(counter).to_have_text(f"1 of {loaded}")
    first_title = page.locator("#viewer-title").inner_text()
    image = page.locator("#viewer-image")
    assert image.evaluate("img => img.naturalWidth") > 0
    assert (image.get_attribute("src") or "").startswith("blob:")
    screenshot(page, "viewer")

    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"2 of {loaded}")
    expect(page.locator("#viewer-title")).not_to_have_text(first_title)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text(f"{loaded} of {loaded}")
    page.get_by_role("button", name="Next photo").click()
    expect(counter).to_have_text(f"1 of {loaded}")
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


def test_a_bar_highlights_its_markers_and_a_marker_its_bars(alice: BrowserContext, page: Page) -> None:
    open_range(page, FIRST, LAST)
    bars = page.locator(".scrubber-bars")
    box = bars.bounding_box()
    assert box is not None
    expect(page.locator(".leaflet-marker-pane .is-highlighted")).to_have_count(0)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] - 4)
    expect(page.locator(".leaflet-marker-pane .is-highlighted").first).to_be_visible()
    page.locator("#filters").hover()
    expect(page.locator(".leaflet-marker-pane .is-highlighted")).to_have_count(0)

    # A cluster's preview paints its days' bars in the highlight colour.
    before = bars.screenshot()
    page.locator(".photo-cluster").first.hover()
    expect(page.locator("#map-preview")).to_be_visible()
    page.wait_for_timeout(300)
    assert bars.screenshot() != before


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

    # Cleared, the map is the whole range's clusters again.
    with page.expect_request(f"**{CLUSTERS_PATH}*") as request:
        page.get_by_role("button", name="Clear").click()
    assert "latitude" not in search_params(request.value.url)
    expect(page.locator("path.location-circle")).to_have_count(0)
    wait_for_state(page, "ready")
    wait_for_map(page)
    expect(page.locator("#summary")).to_contain_text(f"{marker_total(page)} in this view")


def test_a_range_without_photos_says_so(alice: BrowserContext, page: Page) -> None:
    page.goto(range_url(date(2019, 3, 1), date(2019, 3, 31)))
    wait_for_state(page, "empty")
    expect(page.locator("#map-status")).to_contain_text("No photos found")
    expect(page.locator("#scrubber")).to_be_hidden()
    assert page.locator(".photo-marker, .photo-cluster").count() == 0
    screenshot(page, "map-empty")


def test_the_timeline_says_searching_while_a_search_runs(alice: BrowserContext, page: Page) -> None:
    def slow(route: Route) -> None:
        page.wait_for_timeout(1500)
        route.continue_()

    page.route(f"**{CLUSTERS_PATH}*", slow)
    page.goto(range_url(FIRST, LAST))
    expect(page.locator("#timeline-strip")).to_have_text("Searching…")
    expect(page.locator("#timeline-strip")).not_to_contain_text("No photos")
    wait_for_state(page, "ready")


def test_immich_down_shows_an_error_and_the_page_retries_by_itself(
    alice: BrowserContext, page: Page, fake: FakeImmich
) -> None:
    failures = {"left": 2}

    def outage(route: Route) -> None:
        if failures["left"]:
            failures["left"] -= 1
            body = json.dumps({"success": False, "error": "Immich is not answering."})
            route.fulfill(status=503, content_type="application/json", body=body)
        else:
            route.continue_()

    page.route(f"**{CLUSTERS_PATH}*", outage)
    page.goto(range_url(FIRST, LAST))
    wait_for_state(page, "error")
    expect(page.locator("#map-status")).to_contain_text("Your photos could not be loaded")
    expect(page.locator("#map-status")).to_contain_text("Trying again in 2 s.", timeout=15_000)
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    screenshot(page, "map-error")
    # Nobody clicks: the page tries again (2 s, then 4 s) and gets through.
    wait_for_state(page, "ready", timeout=15_000)
    wait_for_map(page)
    expect(page.locator("#summary")).to_contain_text(f"{marker_total(page)} in this view")


def test_immich_down_then_retry_recovers(alice: BrowserContext, page: Page, fake: FakeImmich) -> None:
    fake.set_fault("down")
    page.goto(range_url(date(2023, 1, 1), date(2023, 6, 30)))
    state = wait_for_state(page, "error", "ready")
    fake.set_fault(None)
    if state == "error":
        page.get_by_role("button", name="Retry").click()
    wait_for_state(page, "ready")


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
    open_view_grid(page)
    page.route("**/thumbnail?size=preview", lambda route: route.fulfill(status=502, body="{}"))
    page.locator(".grid-thumb").first.click()
    viewer = page.locator("#viewer")
    expect(viewer).to_have_attribute("data-state", "ready")
    # The large preview failed, so the thumbnail fills in.
    assert page.locator("#viewer-image").evaluate("img => img.naturalWidth") > 0
    page.keyboard.press("Escape")

    page.route("**/thumbnail?size=thumbnail", lambda route: route.fulfill(status=502, body="{}"))
    page.locator(".grid-thumb").nth(1).click()
    expect(viewer).to_have_attribute("data-state", "error")
    expect(page.locator("#viewer-error")).to_contain_text("This photo could not be loaded.")
    screenshot(page, "viewer-error")

    page.unroute("**/thumbnail?size=preview")
    page.unroute("**/thumbnail?size=thumbnail")
    page.get_by_role("button", name="Try again").click()
    expect(viewer).to_have_attribute("data-state", "ready")


def test_keyboard_focus_previews_a_marker_and_enter_opens_it(
    alice: BrowserContext, page: Page, fake: FakeImmich
) -> None:
    day, photo_id = lone_photo_day(fake, FIRST, LAST)
    open_range(page, day, day)
    marker = page.locator(".photo-marker")
    expect(marker).to_have_count(1)
    marker.focus()
    preview = page.locator("#map-preview")
    expect(preview).to_be_visible()
    expect(preview.locator(".preview-title")).to_have_text(fake.asset(photo_id).original_file_name)
    page.keyboard.press("Enter")
    expect(page.locator("#viewer")).to_be_visible()
    assert page.evaluate("() => document.activeElement.id") == "viewer-close"
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()
    assert marker.evaluate("el => el === document.activeElement")

    # A cluster: Enter zooms in to its photos.
    zooms: list[int] = []
    page.on("request", lambda r: zooms.append(int(search_params(r.url)["zoom"])) if CLUSTERS_PATH in r.url else None)
    open_range(page, FIRST, LAST)
    zoom = zooms[-1]
    cluster = open_cluster_locator(page)
    cluster.focus()
    expect(preview).to_be_visible()
    expect(preview.locator(".preview-title")).to_have_text(re.compile(r"^\d+ photos$"))
    with page.expect_request(f"**{CLUSTERS_PATH}*") as request:
        page.keyboard.press("Enter")
    assert int(search_params(request.value.url)["zoom"]) > zoom


def test_an_expired_access_token_is_renewed_for_images_and_searches(alice: BrowserContext, page: Page) -> None:
    open_range(page, FIRST, LAST)
    open_view_grid(page)
    alice.clear_cookies(name="access_token_cookie")
    with page.expect_response("**/api/auth/refresh") as refresh:
        page.locator(".grid-thumb").first.click()
    assert refresh.value.status == 200
    expect(page.locator("#viewer")).to_have_attribute("data-state", "ready")
    assert page.locator("#viewer-image").evaluate("img => img.naturalWidth") > 0
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Close the photos").click()

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

    page.route(f"**{CLUSTERS_PATH}*", answer)
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
        if page.locator("#view-photos").is_visible():
            open_view_grid(page)
            thumb = page.locator(f'.grid-thumb[data-photo-id="{asset.id}"]')
            expect(thumb).to_have_attribute("aria-label", re.compile("^" + re.escape(asset.original_file_name)))
            thumb.click()
            expect(page.locator("#viewer-title")).to_have_text(asset.original_file_name)
            page.keyboard.press("Escape")
            page.get_by_role("button", name="Close the photos").click()
        markup = ".leaflet-marker-pane script, .leaflet-marker-pane [onerror], #grid-panel script"
        assert page.locator(markup).count() == 0
