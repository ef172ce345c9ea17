// The map page's state and every way it changes: plain functions of plain data, no DOM.
//
// state = {
//   preset:      "all" | "month" | "30d" | "year" | "custom"
//   from, to:    the range's first and last day, "YYYY-MM-DD" (a preset fills them in)
//   nearPlace:   "Only near a place" is on: a click on the map picks the centre
//   centre:      {lat, lon} or null
//   radiusIndex: the radius slider's step, an index into RADII
//   view:        the map's view {west, south, east, north, zoom} (unwrapped longitudes), or null
//   span:        the time scrubber's part of the range {start, end} (Dates), or null for all of it
//   index:       the library index's status from the API, or null before it is known
//   search: {
//     status:  "idle" | "invalid" | "loading" | "placing" | "ready" | "failed"
//     query:   the last search sent, {range: {start, end}, centre, radius}, or null
//     clusters: the view's clusters and counts from the server (the whole-library map), or null
//     photos:  what a search near a place found, kept while the next loads; null otherwise
//     error:   {status, code, message} when it failed, else null
//     problem: what is wrong with the dates when the status is "invalid", else ""
//     retryIn: seconds until a failed search tries again by itself (0: it will not)
//     slow:    a search has been running long enough to offer Cancel
//     estimated: how many photos without GPS are drawn at a place estimated from the tracks
//   }
// }
import { customRange, PRESETS, presetRange, toDayValue, toIsoUtc } from "./dates.js";
import { hasCoordinates } from "./photos.js";

export const RADII = [100, 250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000];
export const DEFAULT_RADIUS_INDEX = 6;
export const DEFAULT_PRESET = "all";

const NO_SEARCH = {
  status: "idle",
  query: null,
  clusters: null,
  photos: null,
  error: null,
  problem: "",
  retryIn: 0,
  slow: false,
  estimated: 0,
};

export function formatDistance(meters) {
  return meters >= 1000 ? `${meters / 1000} km` : `${meters} m`;
}

export function radiusMeters(state) {
  return RADII[state.radiusIndex] ?? RADII[DEFAULT_RADIUS_INDEX];
}

/** The slider step closest to a radius in metres. */
export function nearestRadiusIndex(meters) {
  let best = 0;
  RADII.forEach((value, index) => {
    if (Math.abs(value - meters) < Math.abs(RADII[best] - meters)) best = index;
  });
  return best;
}

/** A finite number from the query string, or null (an empty value is not 0). */
function numberParam(params, name) {
  const text = (params.get(name) || "").trim();
  const value = text ? Number(text) : NaN;
  return Number.isFinite(value) ? value : null;
}

function daysOf(preset, now) {
  const range = presetRange(preset, now);
  return { from: toDayValue(range.start), to: toDayValue(range.end) };
}

/** The state a page address stands for, e.g. "?preset=custom&from=2024-06-01&to=2024-06-30". */
export function stateFromUrl(search, now = new Date()) {
  const params = new URLSearchParams(search);
  let preset = params.get("preset");
  if (!PRESETS.includes(preset)) preset = params.get("from") ? "custom" : DEFAULT_PRESET;
  const days = daysOf(preset === "custom" ? "year" : preset, now);
  const radius = numberParam(params, "radius");
  const lat = numberParam(params, "lat");
  const lon = numberParam(params, "lon");
  const located = lat !== null && lon !== null;
  return {
    preset,
    from: params.get("from") || days.from,
    to: params.get("to") || days.to,
    nearPlace: located,
    centre: located ? { lat, lon } : null,
    radiusIndex: radius > 0 ? nearestRadiusIndex(radius) : DEFAULT_RADIUS_INDEX,
    view: null,
    span: null,
    index: null,
    search: NO_SEARCH,
  };
}

/** The query string that brings this state back: only what a preset does not already say. */
export function urlFromState(state) {
  const params = new URLSearchParams({ preset: state.preset });
  if (state.preset === "custom") {
    params.set("from", state.from);
    params.set("to", state.to);
  }
  if (state.centre) {
    params.set("lat", state.centre.lat.toFixed(5));
    params.set("lon", state.centre.lon.toFixed(5));
    params.set("radius", String(radiusMeters(state)));
  }
  return `?${params}`;
}

/** What a search of this state asks for, {range, centre, radius}; or {problem} when the dates do not make a range. */
export function searchQuery(state, now = new Date()) {
  const range = state.preset === "custom" ? customRange(state.from, state.to) : presetRange(state.preset, now);
  if (!range) return { problem: "Choose a date range." };
  if (range.error) return { problem: range.error };
  return { range, centre: state.centre, radius: radiusMeters(state) };
}

/** The search API's parameters for a query. */
export function apiParams(query) {
  const params = new URLSearchParams({ startDate: toIsoUtc(query.range.start), endDate: toIsoUtc(query.range.end) });
  if (query.centre) {
    params.set("latitude", String(query.centre.lat));
    params.set("longitude", String(query.centre.lon));
    params.set("radiusMeters", String(query.radius));
  }
  return params;
}

/** The dates a view asks for: the scrubber's span when one is chosen, else the whole range. */
export function viewRange(state, query) {
  return state.span || query.range;
}

function rangeParams(range) {
  return new URLSearchParams({ startDate: toIsoUtc(range.start), endDate: toIsoUtc(range.end) });
}

function viewportParams(params, view) {
  for (const name of ["west", "south", "east", "north"]) params.set(name, view[name].toFixed(6));
  params.set("zoom", String(view.zoom));
  return params;
}

/** The clusters endpoint's parameters: the dates and the map's unwrapped bounds and zoom. */
export function clusterParams(range, view) {
  return viewportParams(rangeParams(range), view);
}

/** The histogram's: the whole range (the bars), over the view when there is one, or one cell. */
export function histogramParams(range, view, cell = null) {
  const params = rangeParams(range);
  if (view) viewportParams(params, view);
  if (cell) params.set("cell", cell);
  return params;
}

/** One page of the photos of a view or of one of its cells, newest or oldest first. */
export function photoPageParams(range, view, { cell = null, order = "desc", offset = 0, limit = 200 } = {}) {
  const params = histogramParams(range, view, cell);
  params.set("order", order);
  params.set("offset", String(offset));
  params.set("limit", String(limit));
  return params;
}

/** The whole world at zoom 0: a handful of clusters that say where a library's photos are. */
export const WORLD_VIEW = { west: -180, south: -85.0511, east: 180, north: 85.0511, zoom: 0, shift: 0 };

/**
 * The smallest box holding every cluster, as {west, south, east, north}; across the
 * antimeridian east goes past 180 (Fiji's photos stay together). Null without clusters.
 */
export function coveringBounds(clusters) {
  if (!clusters.length) return null;
  const spans = clusters
    .map(({ bbox: [west, , east] }) => {
      const start = (((west + 180) % 360) + 360) % 360 - 180;
      return [start, start + Math.max(0, east - west)];
    })
    .sort((a, b) => a[0] - b[0]);
  // The widest stretch of longitude without a photo is what the box leaves out.
  let gap = { width: -1, end: 0 };
  let reach = spans[0][1];
  for (const [start, end] of spans.slice(1)) {
    if (start - reach > gap.width) gap = { width: start - reach, end: start };
    reach = Math.max(reach, end);
  }
  if (spans[0][0] + 360 - reach > gap.width) gap = { width: spans[0][0] + 360 - reach, end: spans[0][0] };
  const south = Math.min(...clusters.map((c) => c.bbox[1]));
  const north = Math.max(...clusters.map((c) => c.bbox[3]));
  return { west: gap.end, south, east: gap.end + 360 - Math.max(0, gap.width), north };
}

// The named changes. Each takes the state (and what changed) and returns a new state.

/** A preset other than "custom" also fills in the days it stands for. */
export function choosePreset(state, preset, now = new Date()) {
  return preset === "custom" ? { ...state, preset } : { ...state, preset, ...daysOf(preset, now) };
}

export function setDays(state, from, to) {
  return { ...state, from, to };
}

/** Switching "Only near a place" off also forgets the centre. */
export function setView(state, view) {
  return { ...state, view };
}

export function setIndex(state, index) {
  return { ...state, index };
}

/** The scrubber's choice inside the range; null goes back to all of it. */
export function setSpan(state, span) {
  return { ...state, span };
}

export function setNearPlace(state, on) {
  return on ? { ...state, nearPlace: true } : { ...state, nearPlace: false, centre: null };
}

export function setCentre(state, centre) {
  return { ...state, nearPlace: true, centre };
}

export function setRadius(state, radiusIndex) {
  return RADII[radiusIndex] === undefined ? state : { ...state, radiusIndex };
}

export function searchInvalid(state, problem) {
  return { ...state, search: { ...state.search, status: "invalid", problem } };
}

/** The last result stays in view (dimmed) while the next one loads. */
export function searchStarted(state, query) {
  const search = { ...state.search, status: "loading", query, problem: "", retryIn: 0, slow: false, estimated: 0 };
  return { ...state, search };
}

/** Photos without GPS placed from the user's tracks were drawn (0 when the switch is off). */
export function estimatesShown(state, count) {
  return { ...state, search: { ...state.search, estimated: count } };
}

/** A trip from the list: its first and last day as a custom range. */
export function openDays(state, from, to) {
  return { ...state, preset: "custom", from, to, span: null };
}

export function searchSlow(state) {
  return state.search.status === "loading" ? { ...state, search: { ...state.search, slow: true } } : state;
}

/** The view's clusters arrived: the whole-library map is drawn from them. */
export function clustersFound(state, clusters) {
  return { ...state, search: { ...state.search, status: "ready", clusters, photos: null, error: null, slow: false } };
}

/** A cancelled search keeps what was shown before it. */
export function searchCancelled(state) {
  const shown = state.search.clusters || state.search.photos;
  return { ...state, search: { ...state.search, status: shown ? "ready" : "idle", slow: false } };
}

export function retryScheduled(state, seconds) {
  return { ...state, search: { ...state.search, retryIn: seconds } };
}

/** Photos with a place are "placing" until their markers are built; else the search is done. */
export function photosFound(state, photos) {
  const status = photos.some(hasCoordinates) ? "placing" : "ready";
  return { ...state, search: { ...state.search, status, photos, clusters: null, error: null, slow: false } };
}

export function photosPlaced(state) {
  return { ...state, search: { ...state.search, status: "ready" } };
}

export function searchFailed(state, error) {
  const { status, code = null, message } = error;
  const search = { ...state.search, status: "failed", clusters: null, photos: null, slow: false };
  return { ...state, search: { ...search, error: { status, code, message } } };
}
