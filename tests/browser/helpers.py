"""What the browser tests ask of a page: waiting for a search, counting markers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page

from fake_immich import ALICE_KEY, FakeImmich

SEARCH_PATH = "/api/users/me/immich/photos/search"
MAP_PATH = "/api/users/me/immich/map"
CLUSTERS_PATH = MAP_PATH + "/clusters"


def range_url(first: date, last: date, **extra: object) -> str:
    """The map page searching whole days first..last (the browser runs in UTC)."""
    query = f"/?preset=custom&from={first.isoformat()}&to={last.isoformat()}"
    for name, value in extra.items():
        query += f"&{name}={value}"
    return query


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants the page sends for those days: midnight to 23:59:59 UTC."""
    return (
        datetime.combine(first, time(0, 0, 0), tzinfo=UTC),
        datetime.combine(last, time(23, 59, 59), tzinfo=UTC),
    )


def wait_for_state(page: Page, *states: str, timeout: float = 20_000) -> str:
    selector = ", ".join(f"#atlas[data-state={state}]" for state in states)
    page.wait_for_selector(selector, timeout=timeout)
    return str(page.locator("#atlas").get_attribute("data-state"))


def open_range(page: Page, first: date, last: date, **extra: object) -> None:
    page.goto(range_url(first, last, **extra))
    state = wait_for_state(page, "ready", "empty", "error", "not-configured")
    assert state == "ready", page.locator("#map-status").inner_text()
    if "lat" not in extra:
        wait_for_map(page)


def wait_for_map(page: Page, timeout: float = 20_000) -> None:
    """Until the markers drawn are the clusters of the view as it is now."""
    page.wait_for_selector("#map[data-clusters=drawn]", timeout=timeout)
    page.wait_for_timeout(50)
    page.wait_for_selector("#map[data-clusters=drawn]", timeout=timeout)


def zoom_out_once(page: Page) -> bool:
    """Press the map's Zoom out and wait for the clusters of the new zoom; False at the widest."""
    button = page.get_by_role("button", name="Zoom out")
    if "leaflet-disabled" in (button.get_attribute("class") or ""):
        return False
    before = page.get_attribute("#map", "data-zoom")
    button.click()
    page.wait_for_function(
        "before => { const map = document.getElementById('map');"
        " return map.dataset.clusters === 'drawn' && map.dataset.zoom !== before; }",
        arg=before, timeout=20_000,
    )
    return True


def marker_total(page: Page) -> int:
    """Photos on the map as drawn: one per camera marker plus every cluster's number."""
    return int(
        page.evaluate(
            """() => {
              const pane = document.querySelector('.leaflet-marker-pane');
              let total = pane.querySelectorAll('.photo-marker').length;
              for (const count of pane.querySelectorAll('.photo-cluster-count')) {
                total += Number(count.textContent);
              }
              return total;
            }"""
        )
    )


def timeline_total(page: Page) -> int:
    return int(
        page.evaluate(
            "() => [...document.querySelectorAll('#timeline-strip .day')]"
            ".reduce((sum, day) => sum + Number(day.dataset.count), 0)"
        )
    )


def search_params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def with_gps(fake: FakeImmich, ids: list[str]) -> list[str]:
    return [i for i in ids if fake.asset(i).has_gps]


def lone_photo_day(fake: FakeImmich, first: date, last: date) -> tuple[date, str]:
    """A day on which alice took exactly one photo, and it has a location."""
    start, end = day_bounds(first, last)
    ids = fake.expected_search(ALICE_KEY, start, end)
    per_day = Counter(fake.asset(i).taken.date() for i in ids)
    for asset_id in ids:
        asset = fake.asset(asset_id)
        day = asset.taken.date()
        if per_day[day] == 1 and asset.has_gps:
            return day, asset_id
    raise AssertionError("the fake library has no day with a single located photo")


def open_cluster_locator(page: Page) -> Locator:
    """The largest cluster bubble that nothing covers at its centre (neighbours may overlap)."""
    cell = page.evaluate(
        """() => {
          const free = [...document.querySelectorAll('.photo-cluster')].filter((el) => {
            const box = el.getBoundingClientRect();
            const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
            return hit && el.contains(hit);
          });
          free.sort((a, b) => Number(b.innerText.split(' ')[0]) - Number(a.innerText.split(' ')[0]));
          return free.length ? free[0].dataset.cell : null;
        }"""
    )
    assert cell, "no cluster on the map is free to click"
    return page.locator(f'.photo-cluster[data-cell="{cell}"]')
