// The map timeline page. One state (its shape and its changes are in map-state.js); events
// change it through change(), and render() draws the filters, map, timeline and messages
// from it. The search fetches photos and steps the state along as they arrive.
import "./first-run.js";
import { ApiError, getJson } from "./api.js";
import { el, elementsById } from "./dom.js";
import {
  apiParams,
  choosePreset,
  formatDistance,
  photosFound,
  photosPlaced,
  radiusMeters,
  searchFailed,
  searchInvalid,
  searchQuery,
  searchStarted,
  setCentre,
  setDays,
  setNearPlace,
  setRadius,
  stateFromUrl,
  urlFromState,
} from "./map-state.js";
import { describeRange, overlay, pageState, summary, timelineContent } from "./map-status.js";
import { PhotoMap } from "./photo-map.js";
import { readPageConfig, requireUser, wireSignOut } from "./session.js";
import { Timeline } from "./timeline.js";
import { PhotoViewer } from "./viewer.js";

const SEARCH_PATH = "/api/users/me/immich/photos/search";
const RADIUS_SEARCH_DELAY_MS = 400;

const ui = elementsById([
  "atlas",
  "filters",
  "custom-range",
  "date-from",
  "date-to",
  "location-enabled",
  "location-controls",
  "location-hint",
  "radius",
  "radius-value",
  "clear-location",
  "search-button",
  "range-label",
  "map",
  "map-preview",
  "map-status",
  "summary",
  "timeline-strip",
  "viewer",
]);

const config = readPageConfig();
const viewer = new PhotoViewer(ui.viewer);
const openViewer = (photos, index, focusTarget) => viewer.open(photos, index, focusTarget);

const photoMap = new PhotoMap(ui.map, {
  tileUrl: config.tileUrl,
  tileAttribution: config.tileAttribution,
  previewElement: ui.mapPreview,
  onOpen: openViewer,
  onPickLocation: (latlng) => {
    // The map repeats the world sideways; the API wants longitudes in [-180, 180].
    const wrapped = latlng.wrap();
    change(setCentre, { lat: wrapped.lat, lon: wrapped.lng });
    search();
  },
});

const timeline = new Timeline(ui.timelineStrip, {
  onOpen: openViewer,
  onHighlight: (photos) => photoMap.highlight(photos),
  onFocusDay: (photos) => photoMap.focusPhotos(photos),
});

let state = stateFromUrl(location.search);

/** The one way the state changes: a named change from map-state.js, then a render. */
function change(named, ...args) {
  state = named(state, ...args);
  render(state);
}

// Rendering: each function reads the state and writes its part of the page, never the reverse.

function render(current) {
  renderFilters(current);
  renderLocation(current);
  renderSearch(current.search);
}

function renderFilters({ preset, from, to }) {
  ui.filters.elements.preset.value = preset;
  ui.customRange.hidden = preset !== "custom";
  // Written only when they differ, so a date being typed is left alone.
  if (ui.dateFrom.value !== from) ui.dateFrom.value = from;
  if (ui.dateTo.value !== to) ui.dateTo.value = to;
}

function renderLocation(current) {
  const { nearPlace, centre, radiusIndex } = current;
  ui.locationEnabled.checked = nearPlace;
  ui.locationControls.hidden = !nearPlace;
  ui.locationHint.textContent = centre
    ? `Centre ${centre.lat.toFixed(4)}, ${centre.lon.toFixed(4)}. Click the map to move it.`
    : "Click the map to choose the centre.";
  const radius = formatDistance(radiusMeters(current));
  ui.radius.value = String(radiusIndex);
  ui.radius.setAttribute("aria-valuetext", radius);
  ui.radiusValue.textContent = radius;
  photoMap.setPicking(nearPlace);
  photoMap.setLocation(centre ? [centre.lat, centre.lon] : null, radiusMeters(current));
}

function renderSearch(search) {
  const shown = pageState(search);
  ui.atlas.dataset.state = shown;
  ui.map.parentElement.setAttribute("aria-busy", String(shown === "loading"));
  ui.searchButton.disabled = search.status === "loading";
  ui.rangeLabel.textContent = search.query ? describeRange(search.query.range) : "";
  ui.summary.textContent = summary(search);
  renderOverlay(overlay(search));
  renderTimeline(timelineContent(search));
}

const OVERLAY_ACTIONS = {
  settings: () => el("a", { class: "button button--primary", href: "/settings" }, "Open Settings"),
  retry: () => el("button", { class: "button button--primary", type: "button", id: "retry-search" }, "Retry"),
};

// What the overlay and the strip show, so a render rebuilds them only when that changes.
let overlayShows = "";
let timelineShows;

function renderOverlay(message) {
  const key = JSON.stringify(message);
  if (key === overlayShows) return;
  overlayShows = key;
  const box = ui.mapStatus;
  box.replaceChildren();
  box.hidden = !message;
  if (!message) return;
  box.className = `map-status map-status--${message.kind}`;
  if (message.kind === "loading") box.append(el("span", { class: "spinner" }));
  box.append(
    el(
      "div",
      { class: "map-status-text" },
      el("p", { class: "map-status-title" }, message.title),
      message.detail && el("p", { class: "map-status-detail" }, message.detail),
      message.action && OVERLAY_ACTIONS[message.action](),
    ),
  );
}

function renderTimeline(content) {
  if (!content) return;
  const shows = content.photos ?? content.message;
  if (shows === timelineShows) return;
  timelineShows = shows;
  if (content.photos) {
    timeline.render(content.photos);
  } else {
    timeline.clear(content.message);
  }
}

// Searching: fetch the photos, then show them; a newer search abandons an older one.

let controller = null;
let radiusTimer = 0;

async function search() {
  const query = searchQuery(state);
  if (query.problem) {
    change(searchInvalid, query.problem);
    return;
  }
  history.replaceState(null, "", location.pathname + urlFromState(state));
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  change(searchStarted, query);
  let photos;
  try {
    photos = await fetchPhotos(query, signal);
  } catch (error) {
    if (!signal.aborted) showFailure(error);
    return;
  }
  if (!signal.aborted) await showPhotos(photos, signal);
}

async function fetchPhotos(query, signal) {
  const data = await getJson(`${SEARCH_PATH}?${apiParams(query)}`, { signal });
  return data.photos || [];
}

/** The timeline and counts first, then the markers, which markercluster builds in chunks. */
async function showPhotos(photos, signal) {
  change(photosFound, photos);
  if (state.search.status !== "placing") {
    photoMap.clearPhotos();
    if (!photos.length && state.centre) photoMap.showLocation();
    return;
  }
  // Let the browser paint the timeline and the "Placing…" message before the markers are built.
  await new Promise((resolve) => window.setTimeout(resolve, 0));
  if (signal.aborted) return;
  await photoMap.setPhotos(photos);
  if (!signal.aborted) change(photosPlaced);
}

function showFailure(error) {
  photoMap.clearPhotos();
  change(searchFailed, error instanceof ApiError ? error : new ApiError(0, "Something went wrong."));
}

function clearLocation() {
  const hadCentre = Boolean(state.centre);
  change(setNearPlace, false);
  if (hadCentre) search();
}

// Events: each one names a change, and says whether a search follows.

ui.filters.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});

ui.filters.addEventListener("change", (event) => {
  if (event.target.name !== "preset") return;
  change(choosePreset, event.target.value);
  if (state.preset === "custom") {
    ui.dateFrom.focus();
  } else {
    search();
  }
});

ui.customRange.addEventListener("input", () => change(setDays, ui.dateFrom.value, ui.dateTo.value));

ui.locationEnabled.addEventListener("change", () => {
  if (ui.locationEnabled.checked) {
    change(setNearPlace, true);
  } else {
    clearLocation();
  }
});

ui.clearLocation.addEventListener("click", clearLocation);

ui.radius.addEventListener("input", () => {
  change(setRadius, Number(ui.radius.value));
  if (!state.centre) return;
  window.clearTimeout(radiusTimer);
  radiusTimer = window.setTimeout(search, RADIUS_SEARCH_DELAY_MS);
});

ui.mapStatus.addEventListener("click", (event) => {
  if (event.target.closest("#retry-search")) search();
});

wireSignOut();
render(state);
requireUser().then(() => search(), showFailure);
