// A shared trip, public and read-only: the map with clusters, the timeline and the viewer,
// reused as they are; no account, no session, and nothing but the share's own API.
import { ApiError, getJson, postJson, withoutSession } from "./api.js";
import { elementsById } from "./dom.js";
import { PhotoMap } from "./photo-map.js";
import { readPageConfig } from "./session.js";
import { Timeline } from "./timeline.js";
import { PhotoViewer } from "./viewer.js";

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
  "map",
  "map-preview",
  "map-status",
  "summary",
  "timeline-strip",
  "viewer",
]);

/* state = { phase: "loading" | "ready" | "failed", photos: [], error: "" } */
const state = { phase: "loading", photos: [], error: "" };

function setState(changes) {
  Object.assign(state, changes);
  render();
}

function render() {
  if (!ui.mapStatus) return;
  const located = state.photos.filter((p) => p.latitude !== null && p.longitude !== null).length;
  ui.mapStatus.hidden = state.phase === "ready" && state.photos.length > 0;
  ui.mapStatus.textContent =
    state.phase === "loading" ? "Loading photos…" : state.phase === "failed" ? state.error : "No photos in this share.";
  ui.summary.textContent =
    state.phase === "ready" ? `${state.photos.length} photos, ${located} on the map` : "";
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
  const photoMap = new PhotoMap(ui.map, {
    tileUrl: config.tileUrl,
    tileAttribution: config.tileAttribution,
    previewElement: ui.mapPreview,
    onOpen: openViewer,
    onPickLocation: () => {},
  });
  const timeline = new Timeline(ui.timelineStrip, {
    onOpen: openViewer,
    onHighlight: (photos) => photoMap.highlight(photos),
    onFocusDay: (photos) => photoMap.focusPhotos(photos),
  });
  render();
  getJson(`${base}/photos`, PUBLIC)
    .then((data) => {
      setState({ phase: "ready", photos: data.photos });
      photoMap.setPhotos(data.photos);
      timeline.render(data.photos);
    })
    .catch((error) => setState({ phase: "failed", error: error.message }));
}

if (ui.unlockForm) {
  ui.unlockForm.addEventListener("submit", unlock);
} else if (window.L) {
  showShare();
} else {
  window.addEventListener("load", showShare, { once: true });
}
