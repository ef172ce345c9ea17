"""A new account's first visit: a welcome page that leads to Settings, never a 409."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.browser.conftest import screenshot, sign_in
from tests.browser.helpers import wait_for_state

pytestmark = pytest.mark.browser


def statuses(page: Page) -> list[int]:
    seen: list[int] = []
    page.on("response", lambda response: seen.append(response.status) if isinstance(response, Response) else None)
    return seen


def test_an_account_without_settings_is_welcomed_and_led_to_settings(
    context: BrowserContext, page: Page, new_user: str
) -> None:
    sign_in(context, new_user)
    seen = statuses(page)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/")
    page.wait_for_url("**/welcome")
    expect(page.get_by_role("heading", name="Welcome to Photo Atlas")).to_be_visible()
    expect(page.locator("#user-name")).to_be_visible()
    expect(page.locator("#welcome-ready")).to_be_hidden()
    screenshot(page, "welcome")
    page.get_by_role("link", name="Connect your Immich server").click()
    page.wait_for_url("**/settings?welcome=1")
    expect(page.locator("#settings-status")).to_contain_text("Welcome!")
    assert 409 not in seen and not errors, (seen, errors)


def test_the_map_checks_when_the_server_could_not(context: BrowserContext, page: Page, new_user: str) -> None:
    sign_in(context, new_user)
    # Only the refresh cookie is left: the server cannot tell who asks, so the page's script does.
    context.clear_cookies(name="access_token_cookie")
    seen = statuses(page)
    page.goto("/")
    page.wait_for_url("**/welcome")
    expect(page.get_by_role("heading", name="Welcome to Photo Atlas")).to_be_visible()
    assert 409 not in seen, seen


def test_a_configured_account_goes_straight_to_the_map(context: BrowserContext, page: Page) -> None:
    sign_in(context)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "immich-config" in request.url else None)
    page.goto("/?preset=custom&from=2024-01-01&to=2024-01-31")
    assert wait_for_state(page, "ready", "empty") in ("ready", "empty")
    assert asked == [], "the server already knew; the page should not ask again"
    page.goto("/welcome")
    expect(page.locator("#welcome-ready")).to_be_visible()
