"""A share's public page in real Chromium, on a desktop and a phone: the server's clusters of
the share's photos, the time scrubber, the grid of a cluster, the viewer, all with no account
and nothing of the owner's in any answer; and the owner sharing a trip."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError

from fake_immich import ALICE_KEY, FakeImmich
from service.components import components
from tests.browser.conftest import ALICE, LiveServer, PageProblems, new_context, screenshot, sign_in
from tests.browser.helpers import marker_total, open_cluster_locator, search_params, wait_for_map
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
# A week in Portugal, years away from the sample library: ten photos in one Lisbon street, three
# in Sintra, five in Porto and one without a position.
START, END = "2034-06-01T00:00:00Z", "2034-06-07T23:59:59Z"
LISBON, SINTRA, PORTO = (38.7101, -9.1401), (38.8029, -9.3817), (41.1496, -8.6110)
CLUSTERS = "/map/clusters"


# (where, which day of the week, how many photos that day)
PLAN = [(LISBON, 0, 4), (LISBON, 1, 3), (LISBON, 2, 3), (SINTRA, 3, 3), (PORTO, 4, 3), (PORTO, 5, 2)]


def week_specs() -> list[dict[str, Any]]:
    first = datetime(2034, 6, 1, 9, tzinfo=UTC)
    specs: list[dict[str, Any]] = [{"taken": first + timedelta(days=2, hours=8)}]  # no position
    for (latitude, longitude), day, count in PLAN:
        for n in range(count):
            # A few metres apart: one place at the share's precision.
            specs.append({"taken": first + timedelta(days=day, hours=n), "latitude": latitude + 0.00002 * n,
                          "longitude": longitude, "utc_offset_minutes": 60, "time_zone": "Europe/Lisbon"})
    return specs


@pytest.fixture(scope="module")
def portugal_week(live_server: LiveServer, fake: FakeImmich) -> list[str]:
    """Alice's week in Portugal, indexed."""
    ids = fake.add_assets(ALICE_KEY, *week_specs())
    client = live_server.app.test_client()
    assert client.post("/api/users/me/immich/index/sync", headers=bearer(live_server)).status_code == 202
    assert components(live_server.app).index_syncer.wait_idle(60)
    return ids


def bearer(live_server: LiveServer) -> dict[str, str]:
    login = live_server.app.test_client().post("/api/auth/login", json={"email": ALICE, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.get_json()['data']['accessToken']}"}


def make_share(live_server: LiveServer, **fields: object) -> str:
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    body = {"name": "A week in Portugal", "startDate": START, "endDate": END, "expiresAt": expires,
            "locationPrecision": "1km", **fields}
    response = live_server.app.test_client().post("/api/users/me/shares", json=body, headers=bearer(live_server))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["data"]["url"])


@pytest.fixture
def device() -> str:
    return "desktop"


@pytest.fixture
def visitor(browser: Browser, live_server: LiveServer, problems: PageProblems, device: str) \
        -> Iterator[BrowserContext]:
    """A browser with no account, on a desktop or a phone."""
    context = new_context(browser, live_server.url, problems, **(PHONE if device == "phone" else {}))
    yield context
    context.close()


def in_view(page: Page) -> tuple[int, int]:
    """(photos in the share, photos in this view), as the summary under the map says."""
    found = re.match(r"([\d,]+) photos? · ([\d,]+) in this view", page.locator("#summary").inner_text())
    assert found, page.locator("#summary").inner_text()
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


def all_markers_in_sight(page: Page) -> bool:
    """Whether every marker drawn lies inside the map's box (none hidden under the bars)."""
    return bool(page.evaluate(
        """() => {
          const map = document.getElementById('map').getBoundingClientRect();
          return [...document.querySelectorAll('.photo-cluster, .photo-marker')].every((el) => {
            const box = el.getBoundingClientRect();
            return box.top >= map.top && box.bottom <= map.bottom && box.left >= map.left && box.right <= map.right;
          });
        }"""
    ))


def open_a_clusters_grid(page: Page, *, touch: bool) -> int:
    """Open the grid of a cluster as a visitor would: tap it and choose View (a phone), or click
    clusters until one holds photos too close together to zoom to (a desktop). Its count."""
    grid = page.locator("#grid-panel")
    for _ in range(8):
        cluster = open_cluster_locator(page)
        count = int(cluster.inner_text().split()[0])
        if touch:
            cluster.tap()
            page.locator("#map-preview").get_by_role("button", name=f"View {count} photos").tap()
        else:
            cluster.click()
        try:
            expect(grid).to_be_visible(timeout=1500)
            return count
        except AssertionError:
            wait_for_map(page)
    raise AssertionError("no cluster opened its grid")


def drag_across_the_bars(page: Page, start: float, end: float) -> None:
    box = page.locator(".scrubber-bars").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (start + (end - start) * step / 10), y)
        page.wait_for_timeout(30)
    page.mouse.up()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_visitor_sees_the_shares_clusters_scrubs_opens_a_cluster_and_views_a_photo(
    visitor: BrowserContext, device: str, live_server: LiveServer, fake: FakeImmich, portugal_week: list[str]
) -> None:
    page = visitor.new_page()
    url = make_share(live_server)
    seen: list[str] = []
    asked: list[str] = []
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def record(response: Response) -> None:
        seen.append(str(response.all_headers()))
        if CLUSTERS in response.url:
            asked.append(response.url)
        if "image" not in (response.headers.get("content-type") or ""):
            try:
                seen.append(response.text())
            except PlaywrightError:  # a body the browser did not keep (a redirect, a stream)
                pass

    page.on("response", record)
    page.goto(url)
    expect(page.locator("#share-title")).to_have_text("A week in Portugal")
    wait_for_map(page)
    # Framed on the share's photos: every located one in view, drawn as counted bubbles.
    assert in_view(page) == (19, 18)
    expect(page.locator("#summary")).to_have_text("19 photos · 18 in this view · 1 without location")
    assert marker_total(page) == 18
    counts = [int(text) for text in page.locator(".photo-cluster-count").all_inner_texts()]
    assert counts and all(n > 1 for n in counts)
    assert all_markers_in_sight(page)
    assert not [r for r in requested if "/api/" in r and "/api/shares/" not in r], "only the share's own API"
    screenshot(page, f"share-map-{device}")

    # The scrubber narrows the map to part of the week, and "Whole range" brings it all back.
    expect(page.locator("#scrubber")).to_be_visible()
    expect(page.locator(".scrubber-label")).to_contain_text("· 18 photos")
    drag_across_the_bars(page, 0.02, 0.45)
    wait_for_map(page)
    _, narrowed = in_view(page)
    assert 0 < narrowed < 18 and marker_total(page) == narrowed and all_markers_in_sight(page)
    assert search_params(asked[-1])["endDate"] < END
    screenshot(page, f"share-scrubbed-{device}")
    page.get_by_role("button", name="Whole range").click()
    wait_for_map(page)
    assert marker_total(page) == 18

    # A cluster opens its grid; a photo of it opens the viewer, with no original to fetch.
    count = open_a_clusters_grid(page, touch=device == "phone")
    expect(page.locator("#grid-count")).to_have_text(f"{count} photos")
    thumbs = page.locator("#grid-panel .grid-thumb")
    expect(thumbs).to_have_count(count)
    assert {thumbs.nth(i).get_attribute("data-photo-id") for i in range(count)} <= set(portugal_week)
    screenshot(page, f"share-grid-{device}")
    thumbs.first.click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("data-state", "ready")
    expect(page.locator("#viewer-counter")).to_have_text(f"1 of {count}")
    expect(page.locator("#viewer-download")).to_be_hidden()
    expect(page.locator("#viewer-original")).to_be_hidden()
    expect(page.locator("#viewer-coords")).to_have_text(re.compile(r"^-?\d+\.\d{2}000, -?\d+\.\d{2}000$"))
    if device == "phone":
        box = viewer.bounding_box()
        assert box is not None and box["width"] == 390
    screenshot(page, f"share-viewer-{device}")
    assert page.url.endswith(url), "never sent to sign in"
    seen.append(page.content())
    everything = "\n".join(seen)
    for secret in (ALICE, "Alice", fake.url, ALICE_KEY, f":{fake.port}"):
        assert secret not in everything, secret


def test_a_locked_share_opens_with_its_password(
    visitor: BrowserContext, live_server: LiveServer, portugal_week: list[str]
) -> None:
    url = make_share(live_server, password="open sesame")
    page = visitor.new_page()
    page.goto(url)
    page.get_by_label("Password").fill("wrong one")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("#unlock-status")).to_contain_text("not right")
    page.get_by_label("Password").fill("open sesame")
    page.get_by_role("button", name="Open").click()
    expect(page.locator(".photo-cluster").first).to_be_visible(timeout=20_000)
    wait_for_map(page)
    assert marker_total(page) == 18


def test_a_visitor_downloads_an_original_when_the_share_allows_it(
    visitor: BrowserContext, live_server: LiveServer, portugal_week: list[str]
) -> None:
    url = make_share(live_server, allowDownload=True)
    page = visitor.new_page()
    page.goto(url)
    wait_for_map(page)
    page.get_by_role("button", name="Photos in this view (18)").click()
    page.locator("#grid-panel .grid-thumb").first.click()
    download_link = page.locator("#viewer-download")
    expect(download_link).to_be_visible()
    expect(page.locator("#viewer-original")).to_be_visible()
    with page.expect_download() as download:
        download_link.click()
    assert download.value.suggested_filename.endswith(".jpg")
    assert page.url.endswith(url), "never sent to sign in"


def test_the_owner_makes_copies_extends_and_revokes_a_share_and_edits_privacy_zones(
    context: BrowserContext, page: Page, new_user: str
) -> None:
    sign_in(context, new_user)
    page.goto("/shares")
    page.get_by_label("Name").fill("Lisbon")
    page.get_by_label("Password (optional)").fill("open sesame")
    page.get_by_role("button", name="Create link").click()
    expect(page.locator("#share-status")).to_have_text("Choose both a start and an end date.")
    page.get_by_label("From", exact=True).fill("2024-03-01")
    page.get_by_label("To", exact=True).fill("2024-03-10")
    page.get_by_role("button", name="Create link").click()
    link = page.get_by_label("The new link")
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{32}$"))
    item = page.locator(".share-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("1 Mar 2024 – 10 Mar 2024")
    expect(item).to_contain_text("password")
    # Whole days of the owner's (here UTC's), as the map's dates are.
    (share,) = page.request.get("/api/users/me/shares").json()["data"]
    assert (share["startDate"], share["endDate"]) == ("2024-03-01T00:00:00.000Z", "2024-03-10T23:59:59.000Z")
    item.get_by_role("button", name="Extend 30 days").click()
    expect(page.locator(".share-item")).to_have_count(1)
    page.get_by_role("button", name="Add a zone").click()
    # Kept as typed: the list redrawn by the extension, if it lands only now, keeps it.
    page.get_by_label("Latitude of zone 1").fill("38.74")
    page.get_by_role("button", name="Save zones").click()
    expect(page.locator("#zones-status")).to_contain_text("saved")
    screenshot(page, "shares-page")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".share-item").get_by_role("button", name="Revoke").click()
    expect(page.locator(".share-item")).to_have_count(0)
    page.reload()
    expect(page.get_by_label("Latitude of zone 1")).to_have_value("38.74")


@pytest.fixture
def owner_in_lisbon(browser: Browser, live_server: LiveServer, problems: PageProblems) -> Iterator[BrowserContext]:
    """Alice, signed in on a browser whose clock says Lisbon's time."""
    context = new_context(browser, live_server.url, problems, timezone_id="Europe/Lisbon")
    sign_in(context)
    yield context
    context.close()


def test_the_owner_shares_a_trip_from_the_map_and_the_visitor_sees_its_days(
    owner_in_lisbon: BrowserContext, browser: Browser, live_server: LiveServer, problems: PageProblems,
    portugal_week: list[str]
) -> None:
    page = owner_in_lisbon.new_page()
    page.goto("/")
    trip = page.locator(".trips-list li").filter(has_text="Trip in June 2034")
    expect(trip).to_have_count(1)
    screenshot(page, "map-trips-share")
    trip.get_by_role("link", name=re.compile(r"^Share this trip")).click()

    # The shares page opens with the trip chosen in place of the dates, and its name.
    expect(page).to_have_url(re.compile(r"/shares\?trip=[0-9a-f]{16}$"))
    trip_id = page.url.rsplit("=", 1)[1]
    expect(page.get_by_label("Trip", exact=True)).to_have_value(trip_id)
    expect(page.get_by_label("Name")).to_have_value("Trip in June 2034")
    expect(page.get_by_label("From", exact=True)).to_be_hidden()
    page.get_by_role("button", name="Create link").click()
    link = page.get_by_label("The new link")
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{32}$"))
    url = link.input_value()
    shared = page.locator("#share-list .share-item").filter(has_text="Trip in June 2034")
    # The trip's first to last day, as the owner's own days (here: the trip's).
    expect(shared).to_contain_text("1 Jun 2034 – 6 Jun 2034")
    screenshot(page, "shares-trip")

    # The trips are listed on the shares page too; the dates come back with "None".
    page.goto("/shares")
    listed = page.locator(".trip-item").filter(has_text="Trip in June 2034")
    listed.get_by_role("button", name="Share this trip").click()
    expect(page.get_by_label("Trip", exact=True)).to_have_value(trip_id)
    page.get_by_label("Trip", exact=True).select_option("")
    expect(page.get_by_label("From", exact=True)).to_be_visible()

    visitor = new_context(browser, live_server.url, problems)
    try:
        shown = visitor.new_page()
        shown.goto(url)
        wait_for_map(shown)
        expect(shown.locator("#summary")).to_have_text("19 photos · 18 in this view · 1 without location")
        assert marker_total(shown) == 18
    finally:
        visitor.close()
