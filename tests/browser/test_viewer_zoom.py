"""The viewer's full-resolution original and its zoom: wheel, keys, double click, pinch and
double tap, each reset when the photo changes."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.browser.helpers import open_range

pytestmark = pytest.mark.browser

FIRST, LAST = date(2024, 1, 1), date(2024, 12, 31)
SCALE = re.compile(r"scale\(([\d.]+)\)")


@pytest.fixture
def alice(context: BrowserContext) -> BrowserContext:
    sign_in(context)
    return context


def open_viewer(page: Page) -> None:
    """The first photo of "Photos in this view", in the viewer."""
    open_range(page, FIRST, LAST)
    page.locator("#view-photos").click()
    expect(page.locator("#grid-panel .grid-thumb").first).to_be_visible()
    page.locator("#grid-panel .grid-thumb").first.click()
    expect(page.locator("#viewer")).to_be_visible()
    expect(page.locator("#viewer")).to_have_attribute("data-state", "ready", timeout=15_000)


def scale(page: Page) -> float:
    transform = page.locator("#viewer-image").evaluate("img => img.style.transform")
    found = SCALE.search(transform)
    return float(found.group(1)) if found else 1.0


def test_full_resolution_loads_the_original_with_progress_and_is_released(alice: BrowserContext, page: Page) -> None:
    open_viewer(page)
    # Every text the progress line shows, as it changes.
    page.evaluate(
        """() => {
          window.progressTexts = [];
          const box = document.getElementById('viewer-original-status');
          new MutationObserver(() => window.progressTexts.push(box.textContent))
            .observe(box, { subtree: true, childList: true, characterData: true });
        }"""
    )
    with page.expect_response(re.compile(r"/photos/[^/]+/download$")) as original:
        page.get_by_role("button", name="View full resolution").click()
    assert original.value.status == 200
    viewer = page.locator("#viewer")
    expect(viewer).to_have_attribute("data-original", "shown")
    expect(viewer).to_have_attribute("data-resolution", "original")
    expect(page.get_by_role("button", name="Full resolution")).to_have_attribute("aria-pressed", "true")
    image = page.locator("#viewer-image")
    url = image.get_attribute("src") or ""
    assert url.startswith("blob:")
    assert image.evaluate("img => img.naturalWidth") > 0
    texts = page.evaluate("() => window.progressTexts")
    assert any(re.search(r"Loading full resolution…( \d+% of [\d.]+ [kM]B| [\d.]+ [kM]B)?$", t) for t in texts), texts
    screenshot(page, "viewer-original")

    # Loaded afresh (img-src allows blob:, connect-src does not): a revoked URL fails.
    alive = """url => new Promise((resolve) => {
      const probe = new Image();
      probe.onload = () => resolve('alive');
      probe.onerror = () => resolve('revoked');
      probe.src = url;
    })"""
    assert page.evaluate(alive, url) == "alive"
    # The next photo drops the original; the blob: URL is released.
    page.keyboard.press("ArrowRight")
    expect(viewer).not_to_have_attribute("data-resolution", "original")
    expect(page.get_by_role("button", name="View full resolution")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate(alive, url) == "revoked"

    page.get_by_role("button", name="View full resolution").click()
    expect(viewer).to_have_attribute("data-original", "shown")
    second = page.locator("#viewer-image").get_attribute("src") or ""
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    # The dialog's close event, which drops the original, comes a task after it hides.
    expect(viewer).to_have_attribute("data-original", "idle")
    assert page.evaluate(alive, second) == "revoked"


def test_an_original_that_fails_says_so(alice: BrowserContext, page: Page) -> None:
    open_viewer(page)
    failure = {"success": False, "error": "Immich could not be reached"}
    page.route(re.compile(r"/download$"), lambda route: route.fulfill(status=502, json=failure))
    page.get_by_role("button", name="View full resolution").click()
    status = page.locator("#viewer-original-status")
    expect(status).to_contain_text("The original could not be loaded: Immich could not be reached")
    expect(page.locator("#viewer")).to_have_attribute("data-state", "ready")


def test_wheel_keys_and_double_click_zoom_and_the_next_photo_resets(alice: BrowserContext, page: Page) -> None:
    open_viewer(page)
    figure = page.locator(".viewer-figure")
    box = figure.bounding_box()
    assert box is not None
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(centre_x + 40, centre_y + 20)
    page.mouse.wheel(0, -400)
    expect(figure).to_have_class(re.compile("is-zoomed"))
    assert scale(page) > 1.5
    page.mouse.wheel(0, -2000)
    page.wait_for_function("() => document.getElementById('viewer-image').style.transform.includes('scale(8)')")
    wheeled = scale(page)

    # Dragging pans the zoomed photo (along whichever side now overflows the frame).
    corner = "img => { const box = img.getBoundingClientRect(); return [box.left, box.top]; }"
    before = page.locator("#viewer-image").evaluate(corner)
    page.mouse.down()
    page.mouse.move(centre_x + 100, centre_y + 80, steps=4)
    page.mouse.up()
    assert page.locator("#viewer-image").evaluate(corner) != before

    page.keyboard.press("-")
    assert scale(page) < wheeled
    page.keyboard.press("0")
    assert scale(page) == 1.0
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert scale(page) == pytest.approx(2.25)

    page.keyboard.press("ArrowRight")
    expect(page.locator("#viewer-counter")).to_have_text(re.compile(r"^2 of"))
    assert scale(page) == 1.0
    expect(figure).not_to_have_class(re.compile("is-zoomed"))

    figure.dblclick(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert scale(page) == pytest.approx(2.5)
    screenshot(page, "viewer-zoomed")
    figure.dblclick(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert scale(page) == 1.0


def pinch(page: Page, x: float, y: float, start: float, end: float) -> None:
    """Two fingers on either side of (x, y), moving from `start` to `end` pixels apart."""
    session = page.context.new_cdp_session(page)

    def fingers(gap: float) -> list[dict[str, float]]:
        return [{"x": x - gap / 2, "y": y, "id": 0}, {"x": x + gap / 2, "y": y, "id": 1}]

    session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(start)})
    for step in range(1, 9):
        gap = start + (end - start) * step / 8
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(gap)})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


def test_pinch_and_double_tap_zoom_on_a_phone(phone: BrowserContext) -> None:
    page = phone.new_page()
    open_viewer(page)
    box = page.locator(".viewer-figure").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    pinch(page, x, y, 60, 240)
    pinched = scale(page)
    assert pinched > 2, pinched
    # A zoomed photo pans under one finger rather than swiping to the next photo.
    counter = page.locator("#viewer-counter").inner_text()
    session = page.context.new_cdp_session(page)
    session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 6):
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x - 30 * step, "y": y}]})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()
    expect(page.locator("#viewer-counter")).to_have_text(counter)
    screenshot(page, "phone-viewer-pinched")

    pinch(page, x, y, 240, 40)
    assert scale(page) == 1.0

    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)
    assert scale(page) == pytest.approx(2.5)
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)
    assert scale(page) == 1.0
