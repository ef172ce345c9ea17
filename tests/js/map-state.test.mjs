// map-state.js: the map page's state, its address, and the named changes.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  apiParams, choosePreset, clusterParams, clustersFound, coveringBounds, histogramParams, photoPageParams, searchCancelled, setSpan,
  viewRange, DEFAULT_RADIUS_INDEX, formatDistance, nearestRadiusIndex, photosFound, photosPlaced, RADII,
  searchFailed, searchInvalid, searchQuery, searchStarted, setCentre, setDays, setNearPlace, setRadius, stateFromUrl,
  urlFromState,
} from "../../static/js/map-state.js";

const NOW = new Date(2024, 5, 15, 12);
const PARIS = { lat: 48.8566, lon: 2.3522 };
const PLACED = { id: "a", latitude: 48.85, longitude: 2.35 };
const UNPLACED = { id: "b", latitude: null, longitude: null };

/** Freeze a value all the way down, so a change that edits its input throws. */
function frozen(value) {
  if (value && typeof value === "object" && !(value instanceof Date)) {
    Object.values(value).forEach(frozen);
    Object.freeze(value);
  }
  return value;
}

const fromUrl = (search) => frozen(stateFromUrl(search, NOW));

test("a bare address is all time, anywhere: a library from other years is never empty", () => {
  const state = fromUrl("");
  assert.equal(state.preset, "all");
  assert.equal(state.from, "1900-01-01");
  assert.equal(state.to, "2024-06-15");
  assert.equal(state.nearPlace, false);
  assert.equal(state.centre, null);
  assert.equal(state.radiusIndex, DEFAULT_RADIUS_INDEX);
  assert.equal(state.search.status, "idle");
});

test("a preset in the address fills in its days", () => {
  const state = fromUrl("?preset=month");
  assert.deepEqual([state.preset, state.from, state.to], ["month", "2024-06-01", "2024-06-30"]);
});

test("days without a known preset make a custom range", () => {
  const state = fromUrl("?preset=fortnight&from=2023-03-01&to=2023-03-31");
  assert.deepEqual([state.preset, state.from, state.to], ["custom", "2023-03-01", "2023-03-31"]);
  assert.equal(fromUrl("?preset=fortnight").preset, "all");
  // A custom range with no days starts from this year's.
  assert.deepEqual([fromUrl("?preset=custom").from, fromUrl("?preset=custom").to], ["2024-01-01", "2024-12-31"]);
});

test("a radius in the address takes the slider's nearest step", () => {
  assert.equal(RADII[fromUrl("?radius=2000").radiusIndex], 2000);
  assert.equal(RADII[fromUrl("?radius=3000").radiusIndex], 2000);
  assert.equal(RADII[fromUrl("?radius=9999999").radiusIndex], 500000);
  assert.equal(fromUrl("?radius=-5").radiusIndex, DEFAULT_RADIUS_INDEX);
  assert.equal(fromUrl("?radius=wide").radiusIndex, DEFAULT_RADIUS_INDEX);
  assert.equal(nearestRadiusIndex(120), 0);
});

test("a centre needs both coordinates as numbers", () => {
  const state = fromUrl("?lat=48.8566&lon=2.3522");
  assert.deepEqual(state.centre, PARIS);
  assert.equal(state.nearPlace, true);
  for (const search of ["?lat=48.8566", "?lon=2.3522", "?lat=north&lon=2.3522", "?lat=&lon=2"]) {
    assert.equal(fromUrl(search).centre, null, search);
  }
});

test("the address holds only what the preset does not already say", () => {
  assert.equal(urlFromState(fromUrl("?preset=month")), "?preset=month");
  assert.equal(
    urlFromState(fromUrl("?from=2023-03-01&to=2023-03-31")),
    "?preset=custom&from=2023-03-01&to=2023-03-31",
  );
  assert.equal(
    urlFromState(setCentre(fromUrl("?preset=year"), { lat: 48.856614, lon: 2.3522219 })),
    "?preset=year&lat=48.85661&lon=2.35222&radius=10000",
  );
});

test("an address read and written again is the same address", () => {
  for (const search of [
    "?preset=year",
    "?preset=30d",
    "?preset=custom&from=2019-01-01&to=2019-12-31",
    "?preset=month&lat=-33.86880&lon=151.20930&radius=250",
    "?preset=custom&from=2024-06-01&to=2024-06-01&lat=0.00000&lon=0.00000&radius=500000",
  ]) {
    assert.equal(urlFromState(fromUrl(search)), search);
  }
});

test("choosing a preset fills in its days; custom keeps the days shown", () => {
  const year = fromUrl("?preset=year");
  assert.deepEqual(choosePreset(year, "month", NOW), { ...year, preset: "month", from: "2024-06-01", to: "2024-06-30" });
  assert.deepEqual(choosePreset(year, "custom", NOW), { ...year, preset: "custom" });
  assert.deepEqual(setDays(year, "2020-01-01", "2020-02-01"), { ...year, from: "2020-01-01", to: "2020-02-01" });
});

test("a centre turns the place filter on; turning it off forgets the centre", () => {
  const state = setCentre(fromUrl(""), PARIS);
  assert.equal(state.nearPlace, true);
  assert.deepEqual(state.centre, PARIS);
  assert.deepEqual(setNearPlace(frozen(state), true), state);
  const off = setNearPlace(frozen(state), false);
  assert.equal(off.nearPlace, false);
  assert.equal(off.centre, null);
  // Switched on, the filter waits for a click on the map.
  assert.deepEqual(setNearPlace(fromUrl(""), true).centre, null);
});

test("the radius moves only to a step of the slider", () => {
  const state = fromUrl("");
  assert.equal(setRadius(state, 4).radiusIndex, 4);
  assert.equal(setRadius(state, RADII.length), state);
  assert.equal(setRadius(state, -1), state);
});

test("a search asks for the range, and for the place only when there is one", () => {
  const query = searchQuery(fromUrl("?from=2024-03-01&to=2024-03-31"), NOW);
  assert.equal(query.centre, null);
  const params = apiParams(query);
  assert.deepEqual([...params.keys()], ["startDate", "endDate"]);
  assert.equal(params.get("startDate"), new Date(2024, 2, 1).toISOString().replace(".000Z", "Z"));
  assert.equal(params.get("endDate"), new Date(2024, 2, 31, 23, 59, 59).toISOString().replace(".000Z", "Z"));

  const near = apiParams(searchQuery(fromUrl("?preset=year&lat=48.8566&lon=2.3522&radius=2000"), NOW));
  assert.deepEqual(
    [near.get("latitude"), near.get("longitude"), near.get("radiusMeters")],
    ["48.8566", "2.3522", "2000"],
  );
});

test("a preset searches the range it names today", () => {
  const query = searchQuery(fromUrl("?preset=month"), NOW);
  assert.deepEqual(query.range, { start: new Date(2024, 5, 1), end: new Date(2024, 5, 30, 23, 59, 59) });
});

test("dates that make no range are a problem, not a query", () => {
  assert.deepEqual(searchQuery(fromUrl("?from=2024-03-02&to=2024-03-01"), NOW), {
    problem: "The start date is after the end date.",
  });
  assert.deepEqual(searchQuery(setDays(fromUrl("?preset=custom"), "", ""), NOW), {
    problem: "Choose both a start and an end date.",
  });
});

test("a search keeps the last photos in view until new ones arrive", () => {
  const state = fromUrl("");
  const query = searchQuery(state, NOW);
  const first = frozen(photosFound(searchStarted(state, query), [PLACED, UNPLACED]));
  assert.equal(first.search.status, "placing");
  assert.equal(photosPlaced(first).search.status, "ready");

  const again = searchStarted(photosPlaced(first), query);
  assert.equal(again.search.status, "loading");
  assert.deepEqual(again.search.photos, [PLACED, UNPLACED]);
  const invalid = searchInvalid(frozen(again), "Choose a date range.");
  assert.equal(invalid.search.status, "invalid");
  assert.equal(invalid.search.problem, "Choose a date range.");
  assert.deepEqual(invalid.search.photos, [PLACED, UNPLACED]);
});

test("photos without a place need no markers", () => {
  const state = photosFound(searchStarted(fromUrl(""), null), [UNPLACED]);
  assert.equal(state.search.status, "ready");
  assert.equal(photosFound(state, []).search.status, "ready");
});

test("a failed search drops its photos and keeps the error's code", () => {
  const found = frozen(photosFound(fromUrl(""), [PLACED]));
  const error = Object.assign(new Error("Immich is disabled"), { status: 409, code: "immich_disabled" });
  const failed = searchFailed(found, error);
  assert.equal(failed.search.status, "failed");
  assert.equal(failed.search.photos, null);
  assert.deepEqual(failed.search.error, { status: 409, code: "immich_disabled", message: "Immich is disabled" });
  assert.equal(searchFailed(found, { status: 502, message: "Down" }).search.error.code, null);
  assert.equal(photosFound(failed, [PLACED]).search.error, null);
});

test("distances read in metres below a kilometre", () => {
  assert.equal(formatDistance(250), "250 m");
  assert.equal(formatDistance(1000), "1 km");
  assert.equal(formatDistance(25000), "25 km");
});

const VIEW = { west: 170, south: -25, east: 190, north: -10, zoom: 5 };

test("the clusters of a view ask for the scrubber's span when there is one, the range else", () => {
  const state = fromUrl("?preset=custom&from=2024-03-01&to=2024-03-31");
  const query = searchQuery(state, NOW);
  const params = clusterParams(viewRange(state, query), VIEW);
  assert.equal(params.get("startDate"), query.range.start.toISOString().replace(".000", ""));
  // Unwrapped longitudes go as they are: the server shifts photos across the antimeridian.
  assert.deepEqual([params.get("west"), params.get("east"), params.get("zoom")], ["170.000000", "190.000000", "5"]);
  const span = { start: new Date(2024, 2, 10), end: new Date(2024, 2, 11) };
  const narrowed = setSpan(state, span);
  assert.equal(clusterParams(viewRange(narrowed, query), VIEW).get("startDate"), span.start.toISOString().replace(".000", ""));
});

test("the histogram and photo pages name the view and, for a cluster, its cell", () => {
  const range = { start: new Date(Date.UTC(2024, 0, 1)), end: new Date(Date.UTC(2024, 11, 31)) };
  assert.equal(histogramParams(range, null).has("west"), false);
  assert.equal(histogramParams(range, VIEW, "12:34").get("cell"), "12:34");
  const page = photoPageParams(range, VIEW, { cell: "1:2", order: "asc", offset: 200, limit: 200 });
  assert.deepEqual(["order", "offset", "limit"].map((name) => page.get(name)), ["asc", "200", "200"]);
});

test("clusters replace the photos of a search near a place, and a cancelled search keeps them", () => {
  const clusters = { clusters: [], inViewCount: 0, totalCount: 3, withoutLocationCount: 0, source: "index" };
  const found = clustersFound(searchStarted(fromUrl(""), { range: null }), clusters);
  assert.equal(found.search.status, "ready");
  assert.equal(found.search.clusters, clusters);
  assert.equal(searchCancelled(searchStarted(found, { range: null })).search.status, "ready");
  assert.equal(searchCancelled(searchStarted(fromUrl(""), { range: null })).search.status, "idle");
});

const box = (west, south, east, north) => ({ bbox: [west, south, east, north] });

test("the box around a library leaves out its widest empty stretch of longitude", () => {
  // Fiji: either side of the antimeridian, one small box across it.
  const fiji = coveringBounds([box(179.9, -17.7, 179.9, -17.7), box(-179.9, -17.8, -179.9, -17.8)]);
  assert.ok(Math.abs(fiji.west - 179.9) < 1e-9 && Math.abs(fiji.east - 180.1) < 1e-9);
  assert.deepEqual([fiji.south, fiji.north], [-17.8, -17.7]);
  assert.deepEqual(coveringBounds([box(2, 48, 3, 49), box(-74, 40, -73, 41)]), { west: -74, south: 40, east: 3, north: 49 });
  assert.equal(coveringBounds([]), null);
});
