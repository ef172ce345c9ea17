"""The web app manifest: Photo Atlas installs on a phone's home screen."""

from __future__ import annotations

import struct

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_manifest_names_the_app_and_its_icons(client: FlaskClient) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    assert "manifest-src 'self'" in response.headers["Content-Security-Policy"]
    manifest = response.get_json(force=True)
    assert manifest["name"] == "Photo Atlas"
    assert (manifest["start_url"], manifest["display"]) == ("/", "standalone")
    assert manifest["theme_color"] and manifest["background_color"]
    kinds = set()
    for icon in manifest["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200, icon
        assert served.mimetype == icon["type"]
        if icon["type"] == "image/png":
            size = png_size(served.get_data())
            assert f"{size[0]}x{size[1]}" == icon["sizes"]
        kinds.add((icon["type"], icon["purpose"]))
        served.close()
    assert {("image/svg+xml", "any"), ("image/png", "any"), ("image/png", "maskable")} <= kinds
    assert any(icon["sizes"] == "192x192" for icon in manifest["icons"])
    assert any(icon["sizes"] == "512x512" for icon in manifest["icons"])


@pytest.mark.parametrize("path", ["/", "/login", "/settings", "/welcome"])
def test_every_page_links_the_manifest_and_theme_colours(client: FlaskClient, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert 'name="theme-color" content="#1f6f8b" media="(prefers-color-scheme: light)"' in html
    assert 'media="(prefers-color-scheme: dark)"' in html


def test_chromium_reads_the_manifest_without_errors(page: Page) -> None:
    page.goto("/login")
    session = page.context.new_cdp_session(page)
    found = session.send("Page.getAppManifest")
    session.detach()
    assert found["url"].endswith("/manifest.webmanifest")
    assert found["errors"] == [], found["errors"]
    assert '"standalone"' in found["data"]
