"""A share's public page in real Chromium, on a desktop and a phone: the map's clusters, the
timeline and the viewer with no account, and nothing of the owner's in any answer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError

from fake_immich import ALICE_KEY, FakeImmich
from tests.browser.conftest import ALICE, LiveServer, PageProblems, new_context, screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def make_share(live_server: LiveServer, **fields: object) -> str:
    client = live_server.app.test_client()
    login = client.post("/api/auth/login", json={"email": ALICE, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['data']['accessToken']}"}
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    body = {"name": "Paris weekend", "startDate": "2000-01-01T00:00:00Z", "endDate": "2030-12-31T23:59:59Z",
            "latitude": 48.8566, "longitude": 2.3522, "radiusMeters": 50_000, "expiresAt": expires,
            "locationPrecision": "1km", **fields}
    response = client.post("/api/users/me/shares", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["data"]["url"])


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_visitor_sees_the_map_timeline_and_viewer_and_nothing_of_the_owner(
    browser: Browser, live_server: LiveServer, fake: FakeImmich, problems: PageProblems, device: str
) -> None:
    url = make_share(live_server)
    context = new_context(browser, live_server.url, problems, **(PHONE if device == "phone" else {}))
    seen: list[str] = []

    def record(response: Response) -> None:
        seen.append(str(response.all_headers()))
        if "image" not in (response.headers.get("content-type") or ""):
            try:
                seen.append(response.text())
            except PlaywrightError:  # a body the browser did not keep (a redirect, a stream)
                pass

    try:
        page: Page = context.new_page()
        page.on("response", record)
        page.goto(url)
        expect(page.locator("#share-title")).to_have_text("Paris weekend")
        # The owner's library may still be indexing: the first answer can take a while.
        expect(page.locator(".photo-cluster, .photo-marker").first).to_be_visible(timeout=20_000)
        expect(page.locator("#summary")).to_contain_text("photos")
        thumb = page.locator("#timeline-strip .thumb").first
        expect(thumb).to_be_visible()
        screenshot(page, f"share-map-{device}")
        thumb.click()
        expect(page.locator("#viewer")).to_be_visible()
        expect(page.locator("#viewer-download")).to_be_hidden()
        screenshot(page, f"share-page-{device}")
        assert page.url.endswith(url), "never sent to sign in"
        seen.append(page.content())
    finally:
        context.close()
    everything = "\n".join(seen)
    for secret in (ALICE, "Alice", fake.url, ALICE_KEY, f":{fake.port}"):
        assert secret not in everything, secret


def test_a_locked_share_opens_with_its_password(
    browser: Browser, live_server: LiveServer, problems: PageProblems
) -> None:
    url = make_share(live_server, password="open sesame")
    context = new_context(browser, live_server.url, problems)
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_label("Password").fill("wrong one")
        page.get_by_role("button", name="Open").click()
        expect(page.locator("#unlock-status")).to_contain_text("not right")
        page.get_by_label("Password").fill("open sesame")
        page.get_by_role("button", name="Open").click()
        expect(page.locator("#timeline-strip .thumb").first).to_be_visible(timeout=20_000)
    finally:
        context.close()


def test_a_visitor_downloads_an_original_when_the_share_allows_it(
    browser: Browser, live_server: LiveServer, problems: PageProblems
) -> None:
    url = make_share(live_server, allowDownload=True)
    context = new_context(browser, live_server.url, problems)
    try:
        page = context.new_page()
        page.goto(url)
        page.locator("#timeline-strip .thumb").first.click(timeout=20_000)
        download_link = page.locator("#viewer-download")
        expect(download_link).to_be_visible()
        with page.expect_download() as download:
            download_link.click()
        assert download.value.suggested_filename.endswith(".jpg")
        assert page.url.endswith(url), "never sent to sign in"
    finally:
        context.close()


def test_the_owner_makes_copies_extends_and_revokes_a_share_and_edits_privacy_zones(
    context: BrowserContext, page: Page, new_user: str
) -> None:
    sign_in(context, new_user)
    page.goto("/shares")
    page.get_by_label("Name").fill("Lisbon")
    page.get_by_label("From", exact=True).fill("2024-03-01")
    page.get_by_label("To", exact=True).fill("2024-03-10")
    page.get_by_label("Password (optional)").fill("open sesame")
    page.get_by_role("button", name="Create link").click()
    link = page.get_by_label("The new link")
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{32}$"))
    item = page.locator(".share-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("password")
    item.get_by_role("button", name="Extend 30 days").click()
    expect(page.locator(".share-item")).to_have_count(1)
    page.get_by_role("button", name="Add a zone").click()
    page.get_by_label("Latitude of zone 1").fill("38.74")
    page.get_by_label("Latitude of zone 1").dispatch_event("change")
    page.get_by_role("button", name="Save zones").click()
    expect(page.locator("#zones-status")).to_contain_text("saved")
    screenshot(page, "shares-page")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".share-item").get_by_role("button", name="Revoke").click()
    expect(page.locator(".share-item")).to_have_count(0)
    page.reload()
    expect(page.get_by_label("Latitude of zone 1")).to_have_value("38.74")
