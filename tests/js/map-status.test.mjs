// map-status.js: what the map page says about a search, chosen by status and error code.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDay } from "../../static/js/dates.js";
import {
  failureKind, freshness, indexBanner, overlay, pageState, summary, timelineContent,
} from "../../static/js/map-status.js";

const PLACED = { id: "a", latitude: 48.85, longitude: 2.35 };
const UNPLACED = { id: "b", latitude: null, longitude: null };
const RANGE = { start: new Date(2019, 2, 1), end: new Date(2019, 2, 31, 23, 59, 59) };

function search(status, fields = {}) {
  return { status, query: null, photos: null, error: null, problem: "", ...fields };
}

const failed = (status, code, message = "The server's own words") =>
  search("failed", { error: { status, code, message } });

test("each setup code has its own title, whatever the message says", () => {
  const titles = {
    immich_not_configured: "Connect your Immich server first",
    immich_disabled: "Immich is switched off in your settings",
    immich_key_unreadable: "Your stored Immich key cannot be read",
  };
  for (const [code, title] of Object.entries(titles)) {
    const shown = overlay(failed(409, code, "Immich is disabled or switched off"));
    assert.deepEqual(shown, {
      kind: "error",
      title,
      detail: "Immich is disabled or switched off",
      action: "settings",
    });
    assert.equal(pageState(failed(409, code)), "not-configured");
  }
});

test("a 409 without a known code still sends the user to Settings", () => {
  assert.equal(overlay(failed(409, null)).title, "Connect your Immich server first");
  assert.equal(overlay(failed(409, "something_new")).action, "settings");
  assert.equal(overlay(failed(409, "toString")).title, "Connect your Immich server first");
});

test("failures are told apart by status and code, never by wording", () => {
  assert.equal(failureKind({ status: 409, code: "immich_disabled", message: "" }), "setup");
  assert.equal(failureKind({ status: 409, code: null, message: "disabled" }), "setup");
  assert.equal(failureKind({ status: 502, code: null, message: "Immich is disabled" }), "unavailable");
  assert.equal(failureKind({ status: 0, code: null, message: "" }), "unavailable");
  assert.equal(failureKind({ status: 504, code: "immich_timeout", message: "" }), "unavailable");
  assert.equal(failureKind({ status: 400, code: "invalid_request", message: "" }), "rejected");
});

test("an unreachable Immich offers a retry; a refused search does not", () => {
  assert.deepEqual(overlay(failed(502, null, "Immich could not be reached")), {
    kind: "error",
    title: "Your photos could not be loaded",
    detail: "Immich could not be reached",
    action: "retry",
  });
  assert.equal(pageState(failed(502, null)), "error");
  assert.deepEqual(overlay(failed(400, null, "latitude must be between -90 and 90")), {
    kind: "error",
    title: "That search did not work",
    detail: "latitude must be between -90 and 90",
  });
  assert.equal(pageState(failed(400, null)), "error");
});

test("the page's data-state follows the search", () => {
  assert.equal(pageState(search("idle")), "idle");
  assert.equal(pageState(search("invalid")), "invalid");
  assert.equal(pageState(search("loading")), "loading");
  assert.equal(pageState(search("placing", { photos: [PLACED] })), "loading");
  assert.equal(pageState(search("ready", { photos: [PLACED] })), "ready");
  assert.equal(pageState(search("ready", { photos: [UNPLACED] })), "ready");
  assert.equal(pageState(search("ready", { photos: [] })), "empty");
});

test("the overlay speaks while loading and when there is nothing to see", () => {
  assert.equal(overlay(search("idle")), null);
  assert.deepEqual(overlay(search("invalid", { problem: "Choose a date range." })), {
    kind: "error",
    title: "Check the dates",
    detail: "Choose a date range.",
  });
  assert.deepEqual(overlay(search("loading")), { kind: "loading", title: "Searching your photos…" });
  assert.deepEqual(overlay(search("placing", { photos: [PLACED, UNPLACED, PLACED] })), {
    kind: "loading",
    title: "Placing 2 photos on the map…",
  });
  assert.equal(overlay(search("ready", { photos: [PLACED] })), null);
  assert.deepEqual(overlay(search("ready", { photos: [UNPLACED] })), {
    kind: "empty",
    title: "None of these photos has a location",
    detail: "They are listed in the timeline below.",
  });
});

test("an empty result names the range, and the place when there was one", () => {
  const days = `between ${formatDay(RANGE.start)} and ${formatDay(RANGE.end)}`;
  const anywhere = overlay(search("ready", { photos: [], query: { range: RANGE, centre: null, radius: 10000 } }));
  assert.equal(anywhere.kind, "empty");
  assert.equal(anywhere.title, "No photos found");
  assert.equal(anywhere.detail, `Nothing was taken ${days}. Try a wider date range.`);
  const near = overlay(search("ready", { photos: [], query: { range: RANGE, centre: { lat: 1, lon: 2 }, radius: 10000 } }));
  assert.equal(
    near.detail,
    `Nothing was taken ${days} within 10 km of the chosen place. Try a wider date range or radius.`,
  );
});

test("the summary counts photos, those on the map and those without a place", () => {
  assert.equal(summary(search("idle")), "");
  assert.equal(summary(search("ready", { photos: [] })), "No photos");
  assert.equal(summary(search("ready", { photos: [PLACED] })), "1 photo · 1 on the map");
  assert.equal(summary(search("placing", { photos: [PLACED, UNPLACED, PLACED] })), "3 photos · 2 on the map · 1 without location");
  assert.equal(summary(search("loading", { photos: [UNPLACED] })), "1 photo · 0 on the map · 1 without location");
  assert.equal(summary(failed(502, null)), "");
});

test("the timeline keeps its photos while a search runs, and says why it is empty", () => {
  const photos = [PLACED];
  assert.equal(timelineContent(search("loading", { photos })), null);
  assert.equal(timelineContent(search("invalid", { photos })), null);
  assert.deepEqual(timelineContent(search("placing", { photos })), { photos });
  assert.deepEqual(timelineContent(search("ready", { photos: [] })), { message: "No photos in this range." });
  assert.deepEqual(timelineContent(failed(409, "immich_disabled")), {
    message: "Your photos will appear here once Immich is set up.",
  });
  assert.deepEqual(timelineContent(failed(503, null)), { message: "Nothing to show until your photos load." });
  assert.deepEqual(timelineContent(failed(400, null)), { message: "" });
});

const CLUSTERS = { clusters: [], inViewCount: 1200, totalCount: 50000, withoutLocationCount: 300, source: "index" };

test("the clusters' counts make the summary, with thousands grouped", () => {
  const shown = search("ready", { clusters: CLUSTERS });
  assert.equal(summary(shown), "50,000 photos · 1,200 in this view · 300 without location");
  // Photos placed from the tracks are no longer counted as without location.
  const estimated = search("ready", { clusters: CLUSTERS, estimated: 120 });
  assert.equal(summary(estimated), "50,000 photos · 1,200 in this view · 120 estimated · 180 without location");
  assert.equal(summary(search("ready", { clusters: CLUSTERS, estimated: 300 })),
    "50,000 photos · 1,200 in this view · 300 estimated");
  assert.equal(summary(search("ready", { photos: [PLACED, UNPLACED], estimated: 1 })), "2 photos · 1 on the map · 1 estimated");
  assert.equal(pageState(shown), "ready");
  assert.equal(overlay(shown), null);
  assert.equal(pageState(search("ready", { clusters: { ...CLUSTERS, totalCount: 0 }, query: { range: RANGE } })), "empty");
});

test("the timeline says Searching while a first search runs, never that nothing was found", () => {
  assert.deepEqual(timelineContent(search("loading")), { message: "Searching…" });
  assert.equal(timelineContent(search("loading", { photos: [PLACED] })), null);
});

test("a long search offers Cancel; an outage says when it tries again", () => {
  assert.equal(overlay(search("loading", { slow: true })).action, "cancel");
  const down = search("failed", { error: { status: 503, code: null, message: "Immich is not answering." }, retryIn: 4 });
  assert.match(overlay(down).detail, /Trying again in 4 s\./);
  assert.equal(overlay(down).action, "retry");
});

test("the map says how fresh it is, and the index banner how far the first sync is", () => {
  assert.match(freshness({ ...CLUSTERS, indexedAt: "2024-06-01T10:42:00Z" }), /^Up to date as of \d/);
  assert.equal(freshness({ ...CLUSTERS, source: "live" }), "Live from Immich");
  assert.equal(freshness(null), "");
  const syncing = { status: "syncing", progress: { done: 12000, total: 50000 }, lastError: null };
  assert.match(indexBanner(syncing), /12,000 of 50,000 photos/);
  assert.match(indexBanner({ ...syncing, progress: { done: 3000, total: null } }), /Indexing your library: 3,000 photos\./);
  assert.equal(indexBanner({ status: "ready", progress: null, lastError: null }), "");
  assert.match(indexBanner({ status: "ready", lastError: "Immich timed out" }), /Immich timed out/);
});
