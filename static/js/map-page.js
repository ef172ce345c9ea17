// The map timeline page. One state (its shape and its changes are in map-state.js); events
// change it through change(), and render() draws the filters, map, scrubber and messages
// from it. The map asks the server for the clusters of its view (and the scrubber for the
// counts over time), so a library of any size costs the browser only what is in sight;
// near a place, the photos within the radius are fetched and clustered as before.
import "./first-run.js";
import { ApiError, getJson } from "./api.js";
import { toDayValue } from "./dates.js";
import { el, elementsById } from "./dom.js";
import {
  apiParams,
  choosePreset,
  clusterParams,
  clustersFound,
  coveringBounds,
  estimatesShown,
  histogramParams,
  photoPageParams,
  retryScheduled,
  searchCancelled,
  searchSlow,
  setSpan,
  setView,
  viewRange,
  WORLD_VIEW,
  formatDistance,
  openDays,
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
  setIndex,
  setRadius,
  stateFromUrl,
  urlFromState,
} from "./map-state.js";
import {
  describeRange,
  failureKind,
  freshness,
  indexBanner,
  overlay,
  pageState,
  summary,
  timelineContent,
} from "./map-status.js";
import { PhotoGrid } from "./photo-grid.js";
import { PhotoMap } from "./photo-map.js";
import { Scrubber } from "./scrubber.js";
import { readPageConfig, requireUser, wireSignOut } from "./session.js";
import { Timeline } from "./timeline.js";
import { TracksPanel } from "./tracks-panel.js";
import { TripsPanel, tripFrame } from "./trips-panel.js";
import { ViewScheduler } from "./view-scheduler.js";
import { PhotoViewer } from "./viewer.js";

const SEARCH_PATH = "/api/users/me/immich/photos/search";
const MAP_PATH = "/api/users/me/immich/map";
const INDEX_PATH = "/api/users/me/immich/index";
const ESTIMATES_PATH = "/api/users/me/tracks/estimates";
const RADIUS_SEARCH_DELAY_MS = 400;
const VIEW_DELAY_MS = 120; // after a pan or zoom ends, before the view's clusters are asked for
const SCRUB_INTERVAL_MS = 150; // at most one clusters request this often while dragging
const SLOW_SEARCH_MS = 1500; // a search running this long offers Cancel
const RETRY_DELAYS_S = [2, 4, 8, 16, 30];
const INDEX_POLL_MS = 2000;

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
  "scrubber",
  "freshness",
  "index-banner",
  "grid-panel",
  "view-photos",
  "tracks-panel",
  "trips-panel",
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
  onView: (view) => {
    change(setView, view);
    if (clusterMode()) scheduleClusters(VIEW_DELAY_MS);
  },
  loadCluster: loadClusterPreview,
  onOpenCluster: openCluster,
  // A cluster's preview lights up its days on the bars.
  onHoverCluster: (cluster) => (cluster ? markDays(cluster.cell) : markDays(null)),
});

const timeline = new Timeline(ui.timelineStrip, {
  onOpen: openViewer,
  onHighlight: (photos) => photoMap.highlight(photos),
  onFocusDay: (photos) => photoMap.focusPhotos(photos),
});

const scrubber = new Scrubber(ui.scrubber, {
  onSelect: (span, final) => {
    change(setSpan, span);
    scheduleClusters(final ? 0 : SCRUB_INTERVAL_MS, { throttle: !final });
  },
  onHoverBin: highlightBin,
});

// The grid pages through the photos of what it was opened on: a cell of the view, or the view.
let gridSubject = null;
const grid = new PhotoGrid(ui.gridPanel, {
  loadPage: ({ offset, limit, order, signal }) => {
    const { range, view, cell } = gridSubject;
    const params = photoPageParams(range, view, { cell, order, offset, limit });
    return getJson(`${MAP_PATH}/photos?${params}`, { signal });
  },
  onOpen: openViewer,
});

// Location history: photos without GPS placed from the tracks, beside the clusters; and the
// trips found in the library, each opening its dates and extent.
const tracksPanel = new TracksPanel(ui.tracksPanel, { map: photoMap.map, onOpen: openViewer, onToggle: showEstimates });
const tripsPanel = new TripsPanel(ui.tripsPanel, { onOpen: openTrip });
let tripFraming = null; // a trip's extent, framed by the search it starts instead of its photos'

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
  const clusters = search.clusters;
  ui.atlas.dataset.state = shown;
  ui.atlas.dataset.mode = state.centre ? "near" : "clusters";
  ui.map.parentElement.setAttribute("aria-busy", String(shown === "loading"));
  ui.searchButton.disabled = search.status === "loading" && !search.slow;
  ui.rangeLabel.textContent = search.query ? describeRange(search.query.range) : "";
  ui.summary.textContent = summary(search);
  ui.freshness.textContent = freshness(clusters);
  ui.scrubber.hidden = !clusters || !clusters.totalCount;
  ui.viewPhotos.hidden = !clusters || !clusters.inViewCount;
  if (clusters) ui.viewPhotos.textContent = `Photos in this view (${clusters.inViewCount.toLocaleString("en")})`;
  renderOverlay(overlay(search));
  renderTimeline(timelineContent(search));
}

function renderIndex(index) {
  const text = indexBanner(index);
  ui.indexBanner.hidden = !text;
  ui.indexBanner.textContent = text;
}

const OVERLAY_ACTIONS = {
  settings: () => el("a", { class: "button button--primary", href: "/settings" }, "Open Settings"),
  retry: () => el("button", { class: "button button--primary", type: "button", id: "retry-search" }, "Retry"),
  cancel: () => el("button", { class: "button", type: "button", id: "cancel-search" }, "Cancel"),
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
  // The strip lists photos only near a place; on the whole-library map it carries messages.
  ui.timelineStrip.hidden = Boolean(state.search.clusters) || (!content && !state.search.photos);
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

// Searching. A new range or place starts a search; near a place it fetches the photos within
// the radius, else the view's clusters and the counts over time. A newer request abandons an
// older one, so at most one of each kind is in flight.

let controller = null;
let radiusTimer = 0;
let slowTimer = 0;
let retryTimer = 0;
let retryAttempt = 0;

const clusterMode = () => !state.centre && state.search.query !== null && state.search.status !== "invalid";

async function search() {
  const query = searchQuery(state);
  if (query.problem) {
    change(searchInvalid, query.problem);
    return;
  }
  history.replaceState(null, "", location.pathname + urlFromState(state));
  window.clearTimeout(retryTimer);
  grid.close();
  scrubber.stop();
  change(setSpan, null);
  change(searchStarted, query);
  showEstimates();
  if (query.centre) {
    await searchNearPlace(query);
  } else {
    await Promise.all([frameLibrary(), loadHistogram()]);
  }
}

function startRequest() {
  if (controller) controller.abort();
  controller = new AbortController();
  window.clearTimeout(slowTimer);
  slowTimer = window.setTimeout(() => change(searchSlow), SLOW_SEARCH_MS);
  return controller.signal;
}

function finishRequest(signal) {
  if (signal.aborted) return false;
  window.clearTimeout(slowTimer);
  return true;
}

async function searchNearPlace(query) {
  const signal = startRequest();
  let photos;
  try {
    photos = await fetchPhotos(query, signal);
  } catch (error) {
    if (finishRequest(signal)) showFailure(error);
    return;
  }
  if (finishRequest(signal)) await showPhotos(photos, signal);
}

async function fetchPhotos(query, signal) {
  const data = await getJson(`${SEARCH_PATH}?${apiParams(query)}`, { signal });
  return data.photos || [];
}

/** The timeline and counts first, then the markers, which markercluster builds in chunks. */
async function showPhotos(photos, signal) {
  retryAttempt = 0;
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

/** The clusters of the view as it is now, for the range (or the scrubber's span of it). */
async function loadClusters() {
  if (!state.view) change(setView, photoMap.view());
  // For tests and the bench: whether the markers drawn are the current view's.
  ui.map.dataset.clusters = "loading";
  const signal = startRequest();
  const asked = state.view;
  const params = clusterParams(viewRange(state, state.search.query), asked);
  let data;
  try {
    data = await getJson(`${MAP_PATH}/clusters?${params}`, { signal });
  } catch (error) {
    if (finishRequest(signal)) showFailure(error);
    return;
  }
  if (!finishRequest(signal)) return;
  retryAttempt = 0;
  change(clustersFound, data);
  photoMap.setClusters(data.clusters, asked.shift);
  ui.map.dataset.zoom = String(asked.zoom);
  ui.map.dataset.clusters = "drawn";
}

/**
 * After a new search, frame where the photos are (from the whole world's few clusters at
 * zoom 0, so photos outside the view count too), then draw the clusters of that view.
 */
async function frameLibrary() {
  ui.map.dataset.clusters = "loading";
  const signal = startRequest();
  let data;
  try {
    data = await getJson(`${MAP_PATH}/clusters?${clusterParams(state.search.query.range, WORLD_VIEW)}`, { signal });
  } catch (error) {
    if (finishRequest(signal)) showFailure(error);
    return;
  }
  if (!finishRequest(signal)) return;
  const bounds = tripFraming ?? coveringBounds(data.clusters);
  tripFraming = null;
  if (bounds) photoMap.frame(bounds);
  // The move asked for the clusters after a pause; ask now instead.
  views.cancel();
  change(setView, photoMap.view());
  await loadClusters();
}

let histogramController = null;

/** The counts over time of the photos in the view, for the scrubber's bars. */
async function loadHistogram() {
  if (histogramController) histogramController.abort();
  histogramController = new AbortController();
  const { signal } = histogramController;
  if (!state.view) change(setView, photoMap.view());
  try {
    const data = await getJson(`${MAP_PATH}/histogram?${histogramParams(state.search.query.range, state.view)}`, { signal });
    if (!signal.aborted) scrubber.setBins(data);
  } catch {
    // The bars keep their last counts; the clusters' request reports the failure.
  }
}

const views = new ViewScheduler((throttled) => {
  loadClusters();
  if (!throttled && !state.span) loadHistogram();
});

/** Ask for the view's clusters after `delay` ms, or throttled while the scrubber is dragged. */
function scheduleClusters(delay, options) {
  if (!clusterMode()) return;
  ui.map.dataset.clusters = "pending";
  views.schedule(delay, options);
}

function showFailure(error) {
  const failure = error instanceof ApiError ? error : new ApiError(0, "Something went wrong.");
  ui.map.dataset.clusters = "failed";
  photoMap.clearPhotos();
  change(searchFailed, failure);
  // Immich (or the way to it) was down: try again by itself, waiting longer each time.
  if (failureKind(failure) === "unavailable" && retryAttempt < RETRY_DELAYS_S.length) {
    const seconds = RETRY_DELAYS_S[retryAttempt];
    retryAttempt += 1;
    change(retryScheduled, seconds);
    retryTimer = window.setTimeout(search, seconds * 1000);
  }
}

function cancelSearch() {
  if (controller) controller.abort();
  window.clearTimeout(slowTimer);
  change(searchCancelled);
}

// The grid and the viewer for a cluster or the view; previews and highlights between map and bars.

function cellSubject(cell) {
  return { range: viewRange(state, state.search.query), view: state.view, cell };
}

async function cellPhotos(cell, { order = "desc", limit }) {
  const params = photoPageParams(viewRange(state, state.search.query), state.view, { cell, order, limit });
  const data = await getJson(`${MAP_PATH}/photos?${params}`);
  return data.photos;
}

let markController = null;

/** A cluster's newest photos and its oldest one, for its preview; its days light up on the bars. */
async function loadClusterPreview(cluster, limit) {
  const [photos, oldest] = await Promise.all([
    cellPhotos(cluster.cell, { limit }),
    cluster.count > limit ? cellPhotos(cluster.cell, { order: "asc", limit: 1 }) : Promise.resolve([]),
  ]);
  return { photos, oldest: oldest[0] || null };
}

async function markDays(cell) {
  if (markController) markController.abort();
  if (!cell) {
    scrubber.mark(null);
    return;
  }
  markController = new AbortController();
  const { signal } = markController;
  try {
    const params = histogramParams(state.search.query.range, state.view, cell);
    const data = await getJson(`${MAP_PATH}/histogram?${params}`, { signal });
    if (!signal.aborted) scrubber.mark(data.bins.filter((bin) => bin.count).map((bin) => new Date(bin.start)));
  } catch {
    // A highlight is a nicety; without it the preview still shows.
  }
}

let binController = null;

/** Hovering a bar outlines the clusters holding that bar's photos. */
async function highlightBin(span) {
  if (binController) binController.abort();
  if (!span || !clusterMode() || !state.view) {
    photoMap.highlightCells(null);
    return;
  }
  binController = new AbortController();
  const { signal } = binController;
  try {
    const data = await getJson(`${MAP_PATH}/clusters?${clusterParams(span, state.view)}`, { signal });
    if (!signal.aborted) photoMap.highlightCells(data.clusters.map((c) => c.cell));
  } catch {
    // As above: no outline, nothing else lost.
  }
}

async function openCluster(cluster, focusTarget) {
  if (cluster.count === 1) {
    const photos = await cellPhotos(cluster.cell, { limit: 1 });
    openViewer(photos, 0, focusTarget);
    return;
  }
  gridSubject = cellSubject(cluster.cell);
  grid.open({ title: `${cluster.count.toLocaleString("en")} photos here`, total: cluster.count }, focusTarget);
}

function openViewPhotos() {
  const clusters = state.search.clusters;
  if (!clusters) return;
  gridSubject = cellSubject(null);
  grid.open({ title: "Photos in this view", total: clusters.inViewCount }, ui.viewPhotos);
}

// The library index: while its first sync runs, a banner shows how far it is.

let indexWasSyncing = false;

async function pollIndex() {
  let index;
  try {
    index = await getJson(INDEX_PATH);
  } catch {
    return;
  }
  change(setIndex, index);
  renderIndex(index);
  const syncing = index.status === "syncing" || index.refreshing;
  if (syncing) window.setTimeout(pollIndex, INDEX_POLL_MS);
  // The index is ready now: the map's answers come from it from here on.
  if (indexWasSyncing && !syncing && clusterMode()) scheduleClusters(0);
  indexWasSyncing = syncing;
}

let estimatesController = null;

/** With the switch on, the range's photos placed from the tracks (near the place, if one is chosen). */
async function showEstimates() {
  if (estimatesController) estimatesController.abort();
  const query = state.search.query;
  if (!tracksPanel.enabled || !query) {
    tracksPanel.show([], query ? query.range : null);
    change(estimatesShown, 0);
    return;
  }
  estimatesController = new AbortController();
  const { signal } = estimatesController;
  try {
    const data = await getJson(`${ESTIMATES_PATH}?${apiParams(query)}`, { signal });
    if (!signal.aborted) change(estimatesShown, tracksPanel.show(data.photos || [], query.range).length);
  } catch {
    // No estimates (no tracks, or the index is off): the map shows the photos with GPS alone.
  }
}

function openTrip(trip) {
  change(setNearPlace, false);
  change(openDays, toDayValue(new Date(trip.startedAt)), toDayValue(new Date(trip.endedAt)));
  tripFraming = tripFrame(trip.bbox);
  search();
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
  if (event.target.closest("#retry-search")) {
    retryAttempt = 0;
    search();
  }
  if (event.target.closest("#cancel-search")) cancelSearch();
});

ui.viewPhotos.addEventListener("click", openViewPhotos);

wireSignOut();
render(state);
requireUser().then(() => {
  search();
  pollIndex();
  tripsPanel.load();
}, showFailure);
