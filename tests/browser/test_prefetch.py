"""Photos fetched ahead of need: a bounded number at a time, and the viewer's next steps."""

from __future__ import annotations

import time
from datetime import date

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import sign_in
from tests.browser.helpers import open_range

pytestmark = pytest.mark.browser

PREFETCH_RUN = """async ({urls, inFlight}) => {
  const { Prefetcher } = await import("/static/js/prefetch.js");
  let running = 0, most = 0;
  const fetched = [];
  const prefetcher = new Prefetcher({
    inFlight,
    fetchUrl: async (url) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
      if (url.endsWith("/broken")) throw new Error("404");
      fetched.push(url);
    },
  });
  prefetcher.want(urls);
  prefetcher.want(urls.slice(0, urls.length - 5));  // changed its mind: the last five are not wanted
  while (prefetcher.running.size || prefetcher.waiting.length) await new Promise((r) => setTimeout(r, 10));
  prefetcher.want(urls);  // what was fetched is not fetched again
  while (prefetcher.running.size || prefetcher.waiting.length) await new Promise((r) => setTimeout(r, 10));
  return { most, fetched };
}"""


def test_the_prefetcher_keeps_a_bounded_number_in_flight(page: Page) -> None:
    page.goto("/login")
    urls = [f"/api/users/me/immich/photos/{n}/thumbnail" for n in range(30)] + ["/broken"]
    result = page.evaluate(PREFETCH_RUN, {"urls": urls, "inFlight": 6})
    assert result["most"] == 6
    # The last five were dropped while still waiting, then asked for again; none twice.
    assert sorted(result["fetched"]) == sorted(urls[:-1])


@pytest.fixture
def alice(context: BrowserContext) -> BrowserContext:
    sign_in(context)
    return context


def test_the_viewer_fetches_the_photos_after_the_next_ahead(alice: BrowserContext, page: Page) -> None:
    previews: list[str] = []
    page.on("request", lambda request: previews.append(request.url.split("/photos/")[1].split("/")[0])
            if "size=preview" in request.url else None)
    open_range(page, date(2024, 1, 1), date(2024, 12, 31))
    # The viewer opened on the first photo of "Photos in this view".
    page.locator("#view-photos").click()
    expect(page.locator("#grid-panel .grid-thumb").first).to_be_visible()
    page.locator("#grid-panel .grid-thumb").first.click()
    expect(page.locator("#viewer")).to_have_attribute("data-state", "ready", timeout=15_000)
    count = int(page.locator("#viewer-counter").inner_text().split(" of ")[1])
    assert count >= 5
    deadline = time.monotonic() + 10
    while len(set(previews)) < 5 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    # The photo shown, the next one, two after it and the one before.
    assert len(set(previews)) == 5, previews
    for step in range(1, 4):
        page.keyboard.press("ArrowRight")
        expect(page.locator("#viewer-counter")).to_have_text(f"{1 + step} of {count}")
        expect(page.locator("#viewer")).to_have_attribute("data-state", "ready")
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()
