"""The settings page: storing, testing and deleting a user's Immich server."""

from __future__ import annotations

import socket

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from fake_immich import ALICE_KEY, ALICE_KEY_NO_DOWNLOAD, ALICE_KEY_NO_VIEW, SERVER_VERSION, FakeImmich
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

VERSION = "{major}.{minor}.{patch}".format(**SERVER_VERSION)


def open_settings(context: BrowserContext, page: Page, email: str) -> None:
    sign_in(context, email)
    page.goto("/settings")
    expect(page.locator("#immich-form")).to_be_visible()


def test_save_then_test_the_stored_settings(
    context: BrowserContext, page: Page, new_user: str, fake: FakeImmich
) -> None:
    open_settings(context, page, new_user)
    expect(page.locator("#delete-settings")).to_be_hidden()
    page.get_by_label("Server address").fill(fake.url + "/")
    page.get_by_label("API key").fill(ALICE_KEY)

    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Connected")
    expect(result).to_contain_text(VERSION)
    expect(result).to_contain_text("alice@example.com")
    expect(result).to_contain_text("every permission")

    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-status")).to_contain_text("Settings saved.")
    screenshot(page, "settings-saved")

    page.reload()
    expect(page.get_by_label("Server address")).to_have_value(fake.url)
    key = page.get_by_label("API key")
    expect(key).to_have_value("")
    expect(key).to_have_attribute("placeholder", "A key is stored")
    expect(page.get_by_role("switch")).to_be_checked()
    # The key never comes back to the page.
    assert ALICE_KEY not in page.content()

    # Saving needs the key again; testing without one uses the stored settings.
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-status")).to_contain_text("Enter the API key again")
    page.get_by_role("button", name="Test connection").click()
    expect(result).to_contain_text("The saved settings: Connected")


def test_limited_keys_name_what_they_cannot_do(
    context: BrowserContext, page: Page, new_user: str, fake: FakeImmich
) -> None:
    open_settings(context, page, new_user)
    page.get_by_label("Server address").fill(fake.url)
    page.get_by_label("API key").fill(ALICE_KEY_NO_DOWNLOAD)
    page.get_by_role("button", name="Test connection").click()
    missing = page.locator(".missing-permissions li")
    expect(missing).to_have_text(["This key cannot download originals (asset.download)"])
    screenshot(page, "settings-missing-permission")

    page.get_by_label("API key").fill(ALICE_KEY_NO_VIEW)
    page.get_by_role("button", name="Test connection").click()
    expect(missing).to_have_text(["This key cannot view thumbnails (asset.view)"])


def test_unreachable_server_and_wrong_key(context: BrowserContext, page: Page, new_user: str, fake: FakeImmich) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    open_settings(context, page, new_user)
    page.get_by_label("Server address").fill(f"http://127.0.0.1:{closed_port}")
    page.get_by_label("API key").fill(ALICE_KEY)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Could not connect")

    page.get_by_label("Server address").fill(fake.url)
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result h2")).to_have_text("Could not connect")


def test_refused_address_is_explained_and_settings_can_be_deleted(
    context: BrowserContext, page: Page, new_user: str, fake: FakeImmich
) -> None:
    open_settings(context, page, new_user)
    page.get_by_label("Server address").fill("http://169.254.169.254")
    page.get_by_label("API key").fill(ALICE_KEY)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-status .notice--error")).to_contain_text("can never be used")

    page.get_by_label("Server address").fill(fake.url)
    page.get_by_label("API key").fill(ALICE_KEY)
    page.get_by_label("Show photos from this server").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-status")).to_contain_text("Settings saved.")
    expect(page.get_by_role("switch")).not_to_be_checked()

    page.get_by_role("button", name="Delete").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Keep them").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Server address")).to_have_value(fake.url)

    page.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#settings-status")).to_contain_text("were deleted")
    expect(page.get_by_label("Server address")).to_have_value("")
    page.reload()
    expect(page.get_by_label("Server address")).to_have_value("")
    expect(page.locator("#delete-settings")).to_be_hidden()
