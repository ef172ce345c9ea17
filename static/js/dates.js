// Date ranges in the visitor's own time zone, sent to the API as UTC instants.

const DAY_MS = 24 * 60 * 60 * 1000;

export const PRESETS = ["all", "month", "30d", "year", "custom"];
// "All time" starts here: before any camera, after the API's year 1.
export const ALL_TIME_START = new Date(1900, 0, 1);

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

function endOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate(), 23, 59, 59);
}

/** The range a preset stands for, as {start, end} Dates; whole local days. */
export function presetRange(preset, now = new Date()) {
  switch (preset) {
    case "month":
      return {
        start: new Date(now.getFullYear(), now.getMonth(), 1),
        end: endOfDay(new Date(now.getFullYear(), now.getMonth() + 1, 0)),
      };
    case "30d":
      return { start: startOfDay(new Date(now.getTime() - 29 * DAY_MS)), end: endOfDay(now) };
    case "year":
      return {
        start: new Date(now.getFullYear(), 0, 1),
        end: endOfDay(new Date(now.getFullYear(), 11, 31)),
      };
    case "all":
      return { start: ALL_TIME_START, end: endOfDay(now) };
    default:
      return null;
  }
}

/** Parse "YYYY-MM-DD" as a local calendar day, or null. */
export function parseDay(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(year, month - 1, day);
  // Date() rolls "2024-02-30" and "2024-13-01" over into the next month or year: refuse them.
  return date.getMonth() === month - 1 && date.getDate() === day ? date : null;
}

/** A custom range from two "YYYY-MM-DD" values, both days included; or an error message. */
export function customRange(from, to) {
  const start = parseDay(from);
  const end = parseDay(to);
  if (!start || !end) return { error: "Choose both a start and an end date." };
  if (start > end) return { error: "The start date is after the end date." };
  return { start, end: endOfDay(end) };
}

/** "2024-06-01T00:00:00Z": ISO 8601 in UTC without milliseconds. */
export function toIsoUtc(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function toDayValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dayWithWeekday = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function parseTaken(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDay(date) {
  return dayFormat.format(date);
}

export function formatDayLong(date) {
  return dayWithWeekday.format(date);
}

export function formatTaken(iso) {
  const date = parseTaken(iso);
  return date ? dateTimeFormat.format(date) : "Date unknown";
}

/** "3 Jun 2024 – 9 Jun 2024", or one day when both ends fall on it. */
export function formatSpan(first, last) {
  if (!first || !last) return first || last ? formatDay(first || last) : "Dates unknown";
  const a = formatDay(first);
  const b = formatDay(last);
  return a === b ? a : `${a} – ${b}`;
}

/** The local calendar day of a photo, "YYYY-MM-DD", or "" when it has no date. */
export function dayKey(iso) {
  const date = parseTaken(iso);
  return date ? toDayValue(date) : "";
}
