// The scrubber's bins, the photo grid's layout and the thumbhash decoder: the pure parts.
import assert from "node:assert/strict";
import { test } from "node:test";

import { dayKey } from "../../static/js/dates.js";
import { firstRowBelow, layoutRows } from "../../static/js/photo-grid.js";
import { binEnd, spanOf, trimmed } from "../../static/js/scrubber.js";
import { aspectRatio, decode, hashBytes } from "../../static/js/thumbhash.js";

const bins = [
  { start: "2024-01-01T00:00:00Z", count: 0 },
  { start: "2024-02-01T00:00:00Z", count: 3 },
  { start: "2024-03-01T00:00:00Z", count: 0 },
  { start: "2024-04-01T00:00:00Z", count: 5 },
  { start: "2024-05-01T00:00:00Z", count: 0 },
];

test("the bars run from the library's first month with photos to its last", () => {
  assert.deepEqual(trimmed(bins).map((bin) => bin.count), [3, 0, 5]);
  assert.deepEqual(trimmed([{ start: "2024-01-01T00:00:00Z", count: 0 }]).length, 1);
});

test("a dragged span runs from the first bin's start to just before the one after the last", () => {
  const span = spanOf(bins, 3, 1, "month");
  assert.equal(span.start.toISOString(), "2024-02-01T00:00:00.000Z");
  assert.equal(span.end.toISOString(), "2024-04-30T23:59:59.000Z");
  assert.equal(binEnd(bins, 4, "month").toISOString(), "2024-06-01T00:00:00.000Z");
  assert.equal(binEnd([{ start: "2024-01-01T00:00:00Z" }], 0, "week").toISOString(), "2024-01-08T00:00:00.000Z");
});

const photo = (id, takenAt) => ({ id, takenAt });

test("the grid puts a heading before each day and its photos a row of columns at a time", () => {
  const photos = [
    photo("a", "2024-06-02T10:00:00"),
    photo("b", "2024-06-02T09:00:00"),
    photo("c", "2024-06-02T08:00:00"),
    photo("d", "2024-06-01T08:00:00"),
  ];
  const { rows, height } = layoutRows(photos.map((p) => dayKey(p.takenAt)), 5, 2, 100);
  assert.deepEqual(rows.map((row) => row.kind), ["day", "photos", "photos", "day", "photos", "pending", "pending", "pending"]);
  assert.deepEqual(rows.filter((row) => row.kind === "photos").map((row) => row.count), [2, 1, 1]);
  assert.equal(height, 36 * 2 + 104 * 6);
  assert.equal(firstRowBelow(rows, 0), 0);
  assert.equal(firstRowBelow(rows, 36 + 104), 2);
  assert.equal(firstRowBelow(rows, height + 1), rows.length);
});

test("ten thousand photos lay out without holding up a frame for long", () => {
  const days = Array.from({ length: 10_000 }, (_, i) => dayKey(new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString()));
  const started = performance.now();
  const { rows } = layoutRows(days, 0, 4, 100);
  assert.ok(performance.now() - started < 200);
  assert.equal(rows.filter((row) => row.kind === "photos").reduce((sum, row) => sum + row.count, 0), 10_000);
});

test("a thumbhash decodes to a small image of its aspect ratio", () => {
  const bytes = hashBytes("1QcSHQRnh493V4dIh4eXh1h4kJUI");
  const { w, h, rgba } = decode(bytes);
  assert.equal(Math.max(w, h), 32);
  assert.equal(rgba.length, w * h * 4);
  assert.ok(Math.abs(aspectRatio(bytes) - w / h) < 0.1);
  assert.equal(hashBytes(null), null);
  assert.equal(hashBytes("not base64!"), null);
});
