// A share, public and read-only: the owner's map at scale over the share's photos alone. The
// server clusters the view (and counts the photos over time for the scrubber), the grid pages
// through a cluster's or the view's photos and the viewer shows them; the components are the
// map page's own, given the share's API. No account, no session.
import { ApiError, getJson, postJson, withoutSession } from "./api.js";
import { el, elementsById } from "./dom.js";
import {
  clusterParams,
  clustersFound,
  coveringBounds,
  histogramParams,
  photoPageParams,
  searchFailed,
  searchStarted,
  setSpan,
  setView,
  viewRange,
  WORLD_VIEW,
} from "./map-state.js";
import { pageState, summary } from "./map-status.js";
import { PhotoGrid } from "./photo-grid.js";
import { PhotoMap } from "./photo-map.js";
import { Scrubber } from "./scrubber.js";
import { readPageConfig } from "./session.js";
import { ViewScheduler } from "./view-scheduler.js";
import { PhotoViewer } from "./viewer.js";

const VIEW_DELAY_MS = 120; // after a pan or zoom ends, before the view's clusters are asked for
const SCRUB_INTERVAL_MS = 150; // at most one clusters request this often while dragging

withoutSession();
const config = readPageConfig();
const base = `/api/shares/${encodeURIComponent(config.token)}`;
// The share's API answers 401 only to a wrong password: never retry it as a session.
const PUBLIC = { refresh: false, redirectOnAuthFailure: false };

const ui = elementsById([
  "unlock-form",
  "share-password",
  "unlock-status",
  "unlock-button",
  "atlas",
  "map",
  "map-preview",
  "map-status",
  "view-photos",
  "grid-panel",
  "summary",
  "scrubber",
  "viewer",
]);

/** One of the share's map answers ("clusters", "histogram" or "photos") for these parameters. */
function mapAnswer(kind, params, signal) {
  return getJson(`${base}/map/${kind}?${params}`, { ...PUBLIC, signal });
}

// The page's state, in the map page's shape (map-state.js) and changed by its named changes:
// {view, span, search: {status, query: {range}, clusters, error, ...}}.
let state = {
  view: null,
  span: null,
  search: { status: "idle", query: null, clusters: null, photos: null, error: null, problem: "", estimated: 0 },
};

function change(named, ...args) {
  state = named(state, ...args);
  render();
}

/** What the map says over itself, {title, kind} or null when it speaks for itself. */
function shareOverlay(search) {
  if (search.status === "loading" && !search.clusters) return { kind: "loading", title: "Loading photos…" };
  if (search.status === "failed") return { kind: "error", title: search.error.message };
  if (search.status !== "ready" || !search.clusters) return null;
  const { totalCount, withoutLocationCount } = search.clusters;
  if (!totalCount) return { kind: "empty", title: "No photos in this share." };
  if (totalCount === withoutLocationCount) return { kind: "empty", title: "None of these photos has a location." };
  return null;
}

function render() {
  const { search } = state;
  const clusters = search.clusters;
  ui.atlas.dataset.state = pageState(search);
  ui.summary.textContent = summary(search);
  // The bars keep their place while the first answer loads, so the map is framed at its final size.
  ui.scrubber.hidden = search.status === "failed" || Boolean(clusters && !clusters.totalCount);
  ui.viewPhotos.hidden = !clusters || !clusters.inViewCount;
  if (clusters) ui.viewPhotos.textContent = `Photos in this view (${clusters.inViewCount.toLocaleString("en")})`;
  const message = shareOverlay(search);
  ui.mapStatus.hidden = !message;
  ui.mapStatus.className = `map-status map-status--${message ? message.kind : "none"}`;
  ui.mapStatus.replaceChildren(
    ...(message ? [el("div", { class: "map-status-text" }, el("p", { class: "map-status-title" }, message.title))] : []),
  );
}

async function unlock(event) {
  event.preventDefault();
  ui.unlockButton.disabled = true;
  ui.unlockStatus.textContent = "Checking…";
  try {
    await postJson(`${base}/unlock`, { password: ui.sharePassword.value }, PUBLIC);
    location.reload();
  } catch (error) {
    ui.unlockStatus.textContent =
      error instanceof ApiError && error.status === 401 ? "That password is not right." : error.message;
    ui.unlockButton.disabled = false;
  }
}

function showShare() {
  const viewer = new PhotoViewer(ui.viewer);
  const openViewer = (photos, index, focusTarget) => viewer.open(photos, index, focusTarget);
  const range = () => viewRange(state, state.search.query);

  // The view's clusters: at most one request in flight; a newer one abandons the older.
  let controller = null;

  function startRequest() {
    if (controller) controller.abort();
    controller = new AbortController();
    return controller.signal;
  }

  function showFailure(error) {
    ui.map.dataset.clusters = "failed";
    change(searchFailed, error instanceof ApiError ? error : new ApiError(0, "Something went wrong."));
  }

  async function loadClusters() {
    if (!state.view) change(setView, photoMap.view());
    ui.map.dataset.clusters = "loading";
    const signal = startRequest();
    const asked = state.view;
    try {
      const data = await mapAnswer("clusters", clusterParams(range(), asked), signal);
      if (signal.aborted) return;
      change(clustersFound, data);
      photoMap.setClusters(data.clusters, asked.shift);
      ui.map.dataset.clusters = "drawn";
    } catch (error) {
      if (!signal.aborted) showFailure(error);
    }
  }

  /** Frame where the share's photos are (the world's few clusters at zoom 0), then draw that view. */
  async function frameShare() {
    ui.map.dataset.clusters = "loading";
    const signal = startRequest();
    try {
      const data = await mapAnswer("clusters", clusterParams(state.search.query.range, WORLD_VIEW), signal);
      if (signal.aborted) return;
      const bounds = coveringBounds(data.clusters);
      if (bounds) photoMap.frame(bounds);
    } catch (error) {
      if (!signal.aborted) showFailure(error);
      return;
    }
    // The move asked for the clusters after a pause; ask now instead, and for the bars of the view.
    views.cancel();
    change(setView, photoMap.view());
    await Promise.all([loadClusters(), loadHistogram()]);
  }

  let histogramController = null;

  /** The counts over time of the photos in the view, for the scrubber's bars. */
  async function loadHistogram() {
    if (histogramController) histogramController.abort();
    histogramController = new AbortController();
    const { signal } = histogramController;
    if (!state.view) change(setView, photoMap.view());
    try {
      const data = await mapAnswer("histogram", histogramParams(state.search.query.range, state.view), signal);
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
    if (!state.search.query || state.search.status === "failed") return;
    ui.map.dataset.clusters = "pending";
    views.schedule(delay, options);
  }

  async function cellPhotos(cell, { order = "desc", limit }) {
    const data = await mapAnswer("photos", photoPageParams(range(), state.view, { cell, order, limit }));
    return data.photos;
  }

  /** A cluster's newest photos and its oldest one, for its preview. */
  async function loadClusterPreview(cluster, limit) {
    const [photos, oldest] = await Promise.all([
      cellPhotos(cluster.cell, { limit }),
      cluster.count > limit ? cellPhotos(cluster.cell, { order: "asc", limit: 1 }) : Promise.resolve([]),
    ]);
    return { photos, oldest: oldest[0] || null };
  }

  let markController = null;

  /** A cluster's preview lights up its days on the bars. */
  async function markDays(cluster) {
    if (markController) markController.abort();
    if (!cluster) {
      scrubber.mark(null);
      return;
    }
    markController = new AbortController();
    const { signal } = markController;
    try {
      const params = histogramParams(state.search.query.range, state.view, cluster.cell);
      const data = await mapAnswer("histogram", params, signal);
      if (!signal.aborted) scrubber.mark(data.bins.filter((bin) => bin.count).map((bin) => new Date(bin.start)));
    } catch {
      // A highlight is a nicety; without it the preview still shows.
    }
  }

  let binController = null;

  /** Hovering a bar outlines the clusters holding that bar's photos. */
  async function highlightBin(span) {
    if (binController) binController.abort();
    if (!span || !state.view) {
      photoMap.highlightCells(null);
      return;
    }
    binController = new AbortController();
    const { signal } = binController;
    try {
      const data = await mapAnswer("clusters", clusterParams(span, state.view), signal);
      if (!signal.aborted) photoMap.highlightCells(data.clusters.map((c) => c.cell));
    } catch {
      // As above: no outline, nothing else lost.
    }
  }

  // The grid pages through the photos of what it was opened on: a cell of the view, or the view.
  let gridSubject = null;

  async function openCluster(cluster, focusTarget) {
    if (cluster.count === 1) {
      openViewer(await cellPhotos(cluster.cell, { limit: 1 }), 0, focusTarget);
      return;
    }
    gridSubject = { range: range(), view: state.view, cell: cluster.cell };
    grid.open({ title: `${cluster.count.toLocaleString("en")} photos here`, total: cluster.count }, focusTarget);
  }

  function openViewPhotos() {
    const clusters = state.search.clusters;
    if (!clusters) return;
    gridSubject = { range: range(), view: state.view, cell: null };
    grid.open({ title: "Photos in this view", total: clusters.inViewCount }, ui.viewPhotos);
  }

  const photoMap = new PhotoMap(ui.map, {
    tileUrl: config.tileUrl,
    tileAttribution: config.tileAttribution,
    previewElement: ui.mapPreview,
    onOpen: openViewer,
    onPickLocation: () => {},
    onView: (view) => {
      change(setView, view);
      scheduleClusters(VIEW_DELAY_MS);
    },
    loadCluster: loadClusterPreview,
    onOpenCluster: openCluster,
    onHoverCluster: markDays,
  });
  const scrubber = new Scrubber(ui.scrubber, {
    onSelect: (span, final) => {
      change(setSpan, span);
      scheduleClusters(final ? 0 : SCRUB_INTERVAL_MS, { throttle: !final });
    },
    onHoverBin: highlightBin,
  });
  const grid = new PhotoGrid(ui.gridPanel, {
    loadPage: ({ offset, limit, order, signal }) => {
      const { range: dates, view, cell } = gridSubject;
      return mapAnswer("photos", photoPageParams(dates, view, { cell, order, offset, limit }), signal);
    },
    onOpen: openViewer,
  });
  ui.viewPhotos.addEventListener("click", openViewPhotos);
  // Leaflet measures its box only when the window resizes; the summary and bars below it may
  // take another line or two once the counts arrive.
  new ResizeObserver(() => photoMap.map.invalidateSize()).observe(ui.map);

  change(searchStarted, { range: { start: new Date(config.startDate), end: new Date(config.endDate) } });
  frameShare();
}

if (ui.unlockForm) {
  ui.unlockForm.addEventListener("submit", unlock);
} else if (window.L) {
  showShare();
} else {
  window.addEventListener("load", showShare, { once: true });
}
