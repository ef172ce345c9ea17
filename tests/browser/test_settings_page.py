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
    expect(key).to_have_attribute("placeholder", "Leave empty to keep the stored key")
    expect(page.get_by_role("switch")).to_be_checked()
    # The key never comes back to the page.
    assert ALICE_KEY not in page.content()

    # Saving nothing new says so; testing without a key uses the stored settings.
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#settings-status")).to_contain_text("Nothing changed")
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


def enter(page: Page, server_url: str, api_key: str) -> None:
    page.get_by_label("Server address").fill(server_url)
    page.get_by_label("API key").fill(api_key)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_saving_a_dead_server_says_so_and_saves_only_when_confirmed(
    context: BrowserContext, page: Page, new_user: str
) -> None:
    open_settings(context, page, new_user)
    dead = f"http://127.0.0.1:{closed_port()}"
    enter(page, dead, ALICE_KEY)
    with page.expect_request("**/immich-config/test"):
        page.get_by_role("button", name="Save").click()
    status = page.locator("#settings-status")
    expect(status.locator(".notice--warning")).to_contain_text("Immich could not be reached")
    expect(status).to_contain_text(f"could not reach Immich at {dead}")
    expect(status).not_to_contain_text("Settings saved")
    screenshot(page, "settings-save-unreachable")

    # Changing one's mind stores nothing and puts the cursor where the fix is.
    page.get_by_role("button", name="Change the settings").click()
    expect(page.get_by_label("Server address")).to_be_focused()
    assert context.request.get("/api/users/me/immich-config").json()["data"] is None

    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Save anyway").click()
    expect(status).to_contain_text("Settings saved.")
    assert context.request.get("/api/users/me/immich-config").json()["data"]["serverUrl"] == dead


def test_saving_a_wrong_or_limited_key_names_the_problem(
    context: BrowserContext, page: Page, new_user: str, fake: FakeImmich
) -> None:
    open_settings(context, page, new_user)
    enter(page, fake.url, "not-a-key")
    page.get_by_role("button", name="Save").click()
    status = page.locator("#settings-status")
    expect(status).to_contain_text("Immich rejected the API key")
    expect(status).to_contain_text(f"Immich {VERSION}")
    page.get_by_role("button", name="Change the settings").click()
    expect(page.get_by_label("API key")).to_be_focused()

    page.get_by_label("API key").fill(ALICE_KEY_NO_DOWNLOAD)
    page.get_by_role("button", name="Save").click()
    expect(status).to_contain_text("The API key lacks permissions")
    expect(status).to_contain_text("download originals (asset.download)")
    page.get_by_role("button", name="Save anyway").click()
    expect(status).to_contain_text("Settings saved.")

    # A working key saves at once, after the check.
    page.get_by_label("API key").fill(ALICE_KEY)
    page.get_by_role("button", name="Save").click()
    expect(status.locator(".notice--success")).to_contain_text("Settings saved.")


def test_changes_without_the_key_keep_the_stored_one(
    context: BrowserContext, page: Page, new_user: str, fake: FakeImmich
) -> None:
    open_settings(context, page, new_user)
    enter(page, fake.url, ALICE_KEY)
    page.get_by_role("button", name="Save").click()
    status = page.locator("#settings-status")
    expect(status).to_contain_text("Settings saved.")
    page.reload()
    expect(page.get_by_label("API key")).to_have_attribute("placeholder", "Leave empty to keep the stored key")

    # Switching off sends only that, with PATCH, and tests nothing.
    page.get_by_label("Show photos from this server").uncheck()
    with page.expect_request("**/api/users/me/immich-config") as sent:
        page.get_by_role("button", name="Save").click()
    assert sent.value.method == "PATCH" and sent.value.post_data_json == {"enabled": False}
    expect(status).to_contain_text("Settings saved.")

    # Switching on again: the stored settings are tested, and still work with the kept key.
    page.get_by_label("Show photos from this server").check()
    page.get_by_role("button", name="Save").click()
    expect(status.locator(".notice--success")).to_contain_text("Settings saved.")
    expect(page.locator("#test-result")).to_contain_text("The saved settings: Connected")

    # A new address with the kept key is saved, then tested, and what fails is said.
    dead = f"http://127.0.0.1:{closed_port()}"
    page.get_by_label("Server address").fill(dead)
    page.get_by_role("button", name="Save").click()
    expect(status.locator(".notice--warning")).to_contain_text("Settings saved. Photo Atlas could not reach Immich")
    stored = context.request.get("/api/users/me/immich-config").json()["data"]
    assert stored == {"serverUrl": dead, "enabled": True}
