"""Signing up, in and out in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import (
    ALICE,
    LiveServer,
    PageProblems,
    add_user,
    new_context,
    screenshot,
    sign_in,
    start_server,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A Photo Atlas with no account yet."""
    live = start_server(tmp_path)
    yield live
    live.stop()


def test_first_account_signs_up_and_lands_on_settings(
    browser: Browser, empty_server: LiveServer, problems: PageProblems
) -> None:
    context = new_context(browser, empty_server.url, problems)
    page = context.new_page()
    response = page.goto("/login")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    screenshot(page, "login")

    page.get_by_role("button", name="Create an account").click()
    page.get_by_label("Name").fill("Ada")
    page.locator("#sign-up-email").fill("ada@example.com")
    page.locator("#sign-up-password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#sign-up-error")).to_have_text("Choose a password of at least 8 characters.")

    page.locator("#sign-up-password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/settings?welcome=1")
    expect(page.locator("#settings-status")).to_contain_text("Connect your Immich server")
    expect(page.locator("#user-name")).to_have_text("Ada")

    # Registration is closed once the first account exists.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.get_by_role("button", name="Create an account").click()
    page.locator("#sign-up-email").fill("eve@example.com")
    page.locator("#sign-up-password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#sign-up-error")).to_contain_text("Registration is closed")
    context.close()


def test_sign_in_with_wrong_then_right_password(live_server: LiveServer, page: Page) -> None:
    page.goto("/")
    page.wait_for_url("**/login")
    expect(page.locator("#expired-notice")).to_be_hidden()

    page.locator("#sign-in-email").fill(ALICE)
    page.locator("#sign-in-password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#sign-in-error")).to_have_text("Invalid email or password")

    page.locator("#sign-in-password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    expect(page.locator("#user-name")).to_have_text("Alice")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["access_token_cookie"]["httpOnly"]


def test_sign_in_returns_to_the_page_asked_for(live_server: LiveServer, page: Page) -> None:
    page.goto("/settings")
    page.wait_for_url("**/login?next=%2Fsettings")
    page.locator("#sign-in-email").fill(ALICE)
    page.locator("#sign-in-password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(live_server.url + "/settings")


def test_expired_access_token_is_refreshed(context: BrowserContext, page: Page) -> None:
    sign_in(context)
    context.clear_cookies(name="access_token_cookie")
    with page.expect_response("**/api/auth/refresh") as refresh:
        page.goto("/settings")
    assert refresh.value.status == 200
    expect(page.locator("#user-name")).to_have_text("Alice")
    assert "access_token_cookie" in {c["name"] for c in context.cookies()}


def test_ended_session_goes_to_sign_in_with_a_notice(context: BrowserContext, page: Page) -> None:
    sign_in(context)
    context.clear_cookies(name="access_token_cookie")
    context.clear_cookies(name="refresh_token_cookie")
    page.goto("/")
    page.wait_for_url("**/login?expired=1")
    expect(page.locator("#expired-notice")).to_have_text("Your session has ended. Please sign in again.")


def test_sign_out_ends_the_session(live_server: LiveServer, context: BrowserContext, page: Page) -> None:
    email = "leaving@example.com"
    add_user(live_server.app, email)
    sign_in(context, email)
    page.goto("/settings")
    expect(page.locator("#user-name")).to_have_text(email)
    with page.expect_response("**/api/auth/logout") as logout:
        page.get_by_role("button", name="Sign out").click()
    assert logout.value.status == 200
    page.wait_for_url("**/login")
    page.goto("/settings")
    page.wait_for_url("**/login*")
