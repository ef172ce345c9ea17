"""Dark mode follows the system: every page's colours come from the palette's custom
properties, with readable contrast; the map tiles keep their colours, a little dimmed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import LiveServer, PageProblems, new_context, screenshot, sign_in
from tests.browser.helpers import wait_for_state

pytestmark = pytest.mark.browser


def rgb(css: str) -> tuple[int, int, int]:
    red, green, blue = (int(float(part)) for part in re.findall(r"[\d.]+", css)[:3])
    return red, green, blue


def luminance(colour: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(rgb(a)), luminance(rgb(b))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def computed(page: Page, selector: str, prop: str) -> str:
    return str(page.locator(selector).first.evaluate(f"e => getComputedStyle(e).{prop}"))


@pytest.fixture
def dark(browser: Browser, live_server: LiveServer, problems: PageProblems) -> Iterator[BrowserContext]:
    context = new_context(browser, live_server.url, problems, color_scheme="dark")
    sign_in(context)
    yield context
    context.close()


def test_pages_turn_dark_with_the_system_and_stay_readable(dark: BrowserContext) -> None:
    page = dark.new_page()
    page.goto("/settings")
    expect(page.locator("#immich-form")).to_be_visible()
    canvas = computed(page, "html", "backgroundColor")
    assert rgb(canvas) == (21, 25, 28), canvas
    card = computed(page, ".card", "backgroundColor")
    text = computed(page, ".card h1", "color")
    hint = computed(page, ".card .hint", "color")
    assert luminance(rgb(card)) < 0.05
    assert contrast(text, card) >= 7, (text, card)
    assert contrast(hint, card) >= 4.5, (hint, card)
    field = computed(page, "#server-url", "backgroundColor")
    assert luminance(rgb(field)) < 0.1, "form fields follow the dark scheme"
    primary = page.get_by_role("button", name="Save")
    label, fill = (str(primary.evaluate(f"e => getComputedStyle(e).{p}")) for p in ("color", "backgroundColor"))
    assert contrast(label, fill) >= 4.5, (label, fill)
    screenshot(page, "dark-settings")

    page.goto("/?preset=custom&from=2024-01-01&to=2024-12-31")
    wait_for_state(page, "ready")
    header = computed(page, ".site-header", "backgroundColor")
    assert luminance(rgb(header)) < 0.05
    assert computed(page, ".leaflet-tile-pane", "filter") == "brightness(0.88)"
    screenshot(page, "dark-map")


def test_light_is_the_default(context: BrowserContext, page: Page) -> None:
    page.goto("/login")
    assert rgb(computed(page, "html", "backgroundColor")) == (243, 245, 246)
    assert computed(page, "html", "colorScheme") == "light"
