// The map timeline page: filters, search, map, timeline strip and viewer wired together.
import { ApiError, getJson } from "./api.js";
import { customRange, formatDay, presetRange, PRESETS, toDayValue, toIsoUtc } from "./dates.js";
import { PhotoMap } from "./photo-map.js";
import { readPageConfig, requireUser, wireSignOut } from "./session.js";
import { Timeline } from "./timeline.js";
import { TracksPanel } from "./tracks-panel.js";
import { TripsPanel, tripBounds } from "./trips-panel.js";
import { PhotoViewer } from "./viewer.js";

const SEARCH_PATH = "/api/users/me/immich/photos/search";
const RADII = [100, 250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000];
const DEFAULT_RADIUS_INDEX = 6;
const DEFAULT_PRESET = "year";

const $ = (id) => document.getElementById(id);
const atlas = $("atlas");
const form = $("filters");
const customBox = $("custom-range");
const fromInput = $("date-from");
const toInput = $("date-to");
const locationToggle = $("location-enabled");
const locationControls = $("location-controls");
const locationHint = $("location-hint");
const radiusInput = $("radius");
const radiusOutput = $("radius-value");
const statusBox = $("map-status");
const summary = $("summary");
const rangeLabel = $("range-label");
const searchButton = $("search-button");

const config = readPageConfig();
const viewer = new PhotoViewer($("viewer"));
const openViewer = (photos, index, focusTarget) => viewer.open(photos, index, focusTarget);

const photoMap = new PhotoMap($("map"), {
  tileUrl: config.tileUrl,
  tileAttribution: config.tileAttribution,
  previewElement: $("map-preview"),
  onOpen: openViewer,
  onPickLocation: (latlng) => {
    // The map repeats the world sideways; the API wants longitudes in [-180, 180].
    const wrapped = latlng.wrap();
    setCentre({ lat: wrapped.lat, lon: wrapped.lng });
  },
});

const timeline = new Timeline($("timeline-strip"), {
  onOpen: openViewer,
  onHighlight: (photos) => photoMap.highlight(photos),
  onFocusDay: (photos) => photoMap.focusPhotos(photos),
});

const tracksPanel = new TracksPanel($("tracks-panel"), { map: photoMap.map, onOpen: openViewer, onToggle: () => search() });
const tripsPanel = new TripsPanel($("trips-panel"), { onOpen: openTrip });
let pendingBounds = null;

let centre = null;
let controller = null;
let radiusTimer = 0;

function formatDistance(meters) {
  return meters >= 1000 ? `${meters / 1000} km` : `${meters} m`;
}

function radiusMeters() {
  return RADII[Number(radiusInput.value)] ?? RADII[DEFAULT_RADIUS_INDEX];
}

function selectedPreset() {
  const checked = form.querySelector("input[name=preset]:checked");
  return checked ? checked.value : DEFAULT_PRESET;
}

function selectPreset(preset) {
  const input = form.querySelector(`input[name=preset][value="${preset}"]`);
  if (input) input.checked = true;
  customBox.hidden = preset !== "custom";
}

function currentRange() {
  const preset = selectedPreset();
  return preset === "custom" ? customRange(fromInput.value, toInput.value) : presetRange(preset);
}

function readUrlState() {
  const params = new URLSearchParams(location.search);
  let preset = params.get("preset");
  if (!PRESETS.includes(preset)) preset = params.get("from") ? "custom" : DEFAULT_PRESET;
  selectPreset(preset);
  const range = presetRange(preset === "custom" ? DEFAULT_PRESET : preset);
  fromInput.value = params.get("from") || toDayValue(range.start);
  toInput.value = params.get("to") || toDayValue(range.end);
  const radius = Number(params.get("radius"));
  if (radius > 0) {
    // The nearest step of the slider.
    let best = 0;
    RADII.forEach((value, index) => {
      if (Math.abs(value - radius) < Math.abs(RADII[best] - radius)) best = index;
    });
    radiusInput.value = String(best);
  }
  updateRadiusLabel();
  const lat = Number(params.get("lat"));
  const lon = Number(params.get("lon"));
  if (params.has("lat") && params.has("lon") && Number.isFinite(lat) && Number.isFinite(lon)) {
    locationToggle.checked = true;
    showLocationControls(true);
    setCentre({ lat, lon }, { search: false });
  }
}

function writeUrlState() {
  const params = new URLSearchParams();
  const preset = selectedPreset();
  params.set("preset", preset);
  if (preset === "custom") {
    params.set("from", fromInput.value);
    params.set("to", toInput.value);
  }
  if (centre) {
    params.set("lat", centre.lat.toFixed(5));
    params.set("lon", centre.lon.toFixed(5));
    params.set("radius", String(radiusMeters()));
  }
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

function updateRadiusLabel() {
  const text = formatDistance(radiusMeters());
  radiusOutput.textContent = text;
  radiusInput.setAttribute("aria-valuetext", text);
}

function showLocationControls(show) {
  locationControls.hidden = !show;
  photoMap.setPicking(show);
}

function setCentre(point, { search: runSearch = true } = {}) {
  centre = point;
  photoMap.setLocation(point ? [point.lat, point.lon] : null, radiusMeters());
  locationHint.textContent = point
    ? `Centre ${point.lat.toFixed(4)}, ${point.lon.toFixed(4)}. Click the map to move it.`
    : "Click the map to choose the centre.";
  if (runSearch) search();
}

/** A trip from the list: its dates in the filters, then its extent on the map. */
function openTrip(trip) {
  selectPreset("custom");
  fromInput.value = toDayValue(new Date(trip.startedAt));
  toInput.value = toDayValue(new Date(trip.endedAt));
  pendingBounds = tripBounds(trip.bbox);
  search();
}

function clearLocation() {
  const had = Boolean(centre);
  locationToggle.checked = false;
  showLocationControls(false);
  setCentre(null, { search: had });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The overlay on the map: kind is loading, empty, error or null (hidden). */
function showStatus(kind, title, detail, action) {
  statusBox.replaceChildren();
  statusBox.hidden = !kind;
  if (!kind) return;
  statusBox.className = `map-status map-status--${kind}`;
  if (kind === "loading") statusBox.append(el("span", "spinner"));
  const text = el("div", "map-status-text");
  text.append(el("p", "map-status-title", title));
  if (detail) text.append(el("p", "map-status-detail", detail));
  if (action) text.append(action);
  statusBox.append(text);
}

function setState(state) {
  atlas.dataset.state = state;
  $("map").parentElement.setAttribute("aria-busy", String(state === "loading"));
}

function describeRange(range) {
  return `${formatDay(range.start)} – ${formatDay(range.end)}`;
}

function showSearchError(error) {
  photoMap.clearPhotos();
  if (error.status === 409) {
    setState("not-configured");
    const link = el("a", "button button--primary", "Open Settings");
    link.href = "/settings";
    const title = /disabled|switched off/i.test(error.message)
      ? "Immich is switched off in your settings"
      : "Connect your Immich server first";
    showStatus("error", title, error.message, link);
    timeline.clear("Your photos will appear here once Immich is set up.");
  } else if (error.status === 0 || error.status >= 500) {
    setState("error");
    const retry = el("button", "button button--primary", "Retry");
    retry.type = "button";
    retry.id = "retry-search";
    retry.addEventListener("click", () => search());
    showStatus("error", "Your photos could not be loaded", error.message, retry);
    timeline.clear("Nothing to show until your photos load.");
  } else {
    setState("error");
    showStatus("error", "That search did not work", error.message);
    timeline.clear("");
  }
  summary.textContent = "";
}

async function search() {
  const range = currentRange();
  if (!range || range.error) {
    setState("invalid");
    showStatus("error", "Check the dates", range ? range.error : "Choose a date range.");
    return;
  }
  writeUrlState();
  rangeLabel.textContent = describeRange(range);
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;

  const params = new URLSearchParams({ startDate: toIsoUtc(range.start), endDate: toIsoUtc(range.end) });
  if (centre) {
    params.set("latitude", String(centre.lat));
    params.set("longitude", String(centre.lon));
    params.set("radiusMeters", String(radiusMeters()));
  }
  tracksPanel.addParams(params);
  setState("loading");
  searchButton.disabled = true;
  showStatus("loading", "Searching your photos…");
  let data;
  try {
    data = await getJson(`${SEARCH_PATH}?${params}`, { signal });
  } catch (error) {
    if (signal.aborted) return;
    searchButton.disabled = false;
    showSearchError(error instanceof ApiError ? error : new ApiError(0, "Something went wrong."));
    return;
  }
  if (signal.aborted) return;
  searchButton.disabled = false;
  const photos = data.photos || [];
  const placed = photos.filter((p) => typeof p.latitude === "number" && typeof p.longitude === "number");
  const estimated = tracksPanel.show(photos, range);
  const unplaced = photos.length - placed.length - estimated.length;

  if (!photos.length) {
    photoMap.clearPhotos();
    if (centre) photoMap.showLocation();
    timeline.clear("No photos in this range.");
    summary.textContent = "No photos";
    const where = centre ? ` within ${formatDistance(radiusMeters())} of the chosen place` : "";
    showStatus(
      "empty",
      "No photos found",
      `Nothing was taken between ${formatDay(range.start)} and ${formatDay(range.end)}${where}. ` +
        `Try a wider date range${centre ? " or radius" : ""}.`,
    );
    setState("empty");
    return;
  }

  const parts = [`${photos.length} ${photos.length === 1 ? "photo" : "photos"}`];
  parts.push(`${placed.length} on the map`);
  if (estimated.length) parts.push(`${estimated.length} estimated`);
  if (unplaced) parts.push(`${unplaced} without location`);
  summary.textContent = parts.join(" · ");
  timeline.render(photos);
  if (!placed.length && !estimated.length) {
    photoMap.clearPhotos();
    showStatus("empty", "None of these photos has a location", "They are listed in the timeline below.");
    setState("ready");
    return;
  }
  showStatus("loading", `Placing ${placed.length} photos on the map…`);
  // Let the browser paint the timeline and that message before the markers are built.
  await new Promise((resolve) => window.setTimeout(resolve, 0));
  if (signal.aborted) return;
  await photoMap.setPhotos(photos);
  if (signal.aborted) return;
  if (pendingBounds) photoMap.map.fitBounds(pendingBounds, { padding: [40, 40], maxZoom: 15 });
  pendingBounds = null;
  showStatus(null);
  setState("ready");
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});

form.addEventListener("change", (event) => {
  if (event.target.name !== "preset") return;
  const preset = event.target.value;
  if (preset === "custom") {
    customBox.hidden = false;
    fromInput.focus();
    return;
  }
  customBox.hidden = true;
  const range = presetRange(preset);
  fromInput.value = toDayValue(range.start);
  toInput.value = toDayValue(range.end);
  search();
});

locationToggle.addEventListener("change", () => {
  if (locationToggle.checked) {
    showLocationControls(true);
  } else {
    clearLocation();
  }
});

radiusInput.addEventListener("input", () => {
  updateRadiusLabel();
  if (!centre) return;
  photoMap.setLocation([centre.lat, centre.lon], radiusMeters());
  window.clearTimeout(radiusTimer);
  radiusTimer = window.setTimeout(() => search(), 400);
});

$("clear-location").addEventListener("click", clearLocation);

wireSignOut();
readUrlState();
requireUser().then(
  () => {
    search();
    tripsPanel.load();
  },
  (error) => showSearchError(error instanceof ApiError ? error : new ApiError(0, "Something went wrong.")),
);
