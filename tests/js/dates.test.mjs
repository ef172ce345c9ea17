// dates.js: ranges are whole local days, sent as UTC instants. Run in any time zone.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  customRange,
  dayKey,
  formatDay,
  formatSpan,
  parseDay,
  parseTaken,
  presetRange,
  toDayValue,
  toIsoUtc,
} from "../../static/js/dates.js";

const local = (...parts) => new Date(...parts);

test("this month runs from its first day to the end of its last", () => {
  const range = presetRange("month", local(2024, 1, 15, 10, 30));
  assert.deepEqual(range, { start: local(2024, 1, 1), end: local(2024, 1, 29, 23, 59, 59) });
});

test("the last 30 days end today and include it", () => {
  const range = presetRange("30d", local(2024, 2, 10, 12));
  assert.deepEqual(range, { start: local(2024, 1, 10), end: local(2024, 2, 10, 23, 59, 59) });
});

test("this year runs from 1 January to the end of 31 December", () => {
  const range = presetRange("year", local(2024, 5, 15));
  assert.deepEqual(range, { start: local(2024, 0, 1), end: local(2024, 11, 31, 23, 59, 59) });
});

test("custom and unknown presets have no range of their own", () => {
  assert.equal(presetRange("custom"), null);
  assert.equal(presetRange("decade"), null);
});

test("a day is read only in the YYYY-MM-DD form, and only when it exists", () => {
  assert.deepEqual(parseDay("2024-02-29"), local(2024, 1, 29));
  for (const value of ["2023-02-29", "2024-13-01", "2024-2-1", "01/02/2024", "", null, undefined]) {
    assert.equal(parseDay(value), null, String(value));
  }
});

test("a custom range holds both of its days whole", () => {
  assert.deepEqual(customRange("2024-03-01", "2024-03-01"), {
    start: local(2024, 2, 1),
    end: local(2024, 2, 1, 23, 59, 59),
  });
});

test("a custom range says what is wrong with it", () => {
  assert.deepEqual(customRange("2024-03-02", "2024-03-01"), { error: "The start date is after the end date." });
  assert.deepEqual(customRange("", "2024-03-01"), { error: "Choose both a start and an end date." });
  assert.deepEqual(customRange("2024-03-01", "2024-02-30"), { error: "Choose both a start and an end date." });
});

test("instants go to the API in UTC, without milliseconds", () => {
  assert.equal(toIsoUtc(new Date(Date.UTC(2024, 5, 1, 0, 0, 0, 123))), "2024-06-01T00:00:00Z");
  assert.equal(toIsoUtc(new Date(Date.UTC(2024, 11, 31, 23, 59, 59))), "2024-12-31T23:59:59Z");
});

test("a date input's value is the local day", () => {
  assert.equal(toDayValue(local(2024, 0, 5, 23, 59)), "2024-01-05");
  assert.equal(toDayValue(parseDay("2024-11-30")), "2024-11-30");
});

test("a photo's time is read when it is a real one", () => {
  assert.equal(parseTaken(null), null);
  assert.equal(parseTaken("not a date"), null);
  assert.equal(parseTaken("2024-06-01T10:00:00Z").getTime(), Date.UTC(2024, 5, 1, 10));
});

test("a photo belongs to the local day it was taken on; undated photos to none", () => {
  assert.equal(dayKey(local(2024, 5, 1, 0, 30).toISOString()), "2024-06-01");
  assert.equal(dayKey(local(2024, 5, 1, 23, 30).toISOString()), "2024-06-01");
  assert.equal(dayKey(null), "");
});

test("a span of one day is named once", () => {
  const morning = local(2024, 5, 1, 8);
  const evening = local(2024, 5, 1, 20);
  assert.equal(formatSpan(morning, evening), formatDay(morning));
  assert.equal(formatSpan(morning, local(2024, 5, 3)), `${formatDay(morning)} – ${formatDay(local(2024, 5, 3))}`);
  assert.equal(formatSpan(null, evening), formatDay(evening));
  assert.equal(formatSpan(null, null), "Dates unknown");
});
