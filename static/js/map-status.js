// What the map page says about its search: plain functions of the search state (map-state.js).
import { formatDay } from "./dates.js";
import { formatDistance } from "./map-state.js";
import { hasCoordinates } from "./photos.js";

// The machine-readable codes of the API's 409s: Immich must be set up before photos can load.
const SETUP_TITLES = new Map([
  ["immich_not_configured", "Connect your Immich server first"],
  ["immich_disabled", "Immich is switched off in your settings"],
  ["immich_key_unreadable", "Your stored Immich key cannot be read"],
]);

/** Why a search failed: "setup" (go to Settings), "unavailable" (worth a retry) or "rejected". */
export function failureKind(error) {
  if (SETUP_TITLES.has(error.code) || error.status === 409) return "setup";
  if (error.status === 0 || error.status >= 500) return "unavailable";
  return "rejected";
}

/** The page's data-state: idle, invalid, loading, ready, empty, error or not-configured. */
export function pageState(search) {
  switch (search.status) {
    case "loading":
    case "placing":
      return "loading";
    case "ready":
      return photoCount(search) ? "ready" : "empty";
    case "failed":
      return failureKind(search.error) === "setup" ? "not-configured" : "error";
    default:
      return search.status;
  }
}

export function describeRange(range) {
  return `${formatDay(range.start)} – ${formatDay(range.end)}`;
}

/** How many photos the search found: the clusters' total, or the photos near a place. */
function photoCount(search) {
  if (search.clusters) return search.clusters.totalCount;
  return search.photos ? search.photos.length : 0;
}

const plural = (n, one, many) => `${n.toLocaleString("en")} ${n === 1 ? one : many}`;

/** The counts under the map: "12 photos · 10 on the map · 2 without location". */
/** The photos without GPS: those placed from the tracks, then the rest. */
function withoutLocation(parts, count, estimated = 0) {
  const shown = Math.min(estimated, count);
  if (shown) parts.push(`${shown.toLocaleString("en")} estimated`);
  if (count > shown) parts.push(`${(count - shown).toLocaleString("en")} without location`);
  return parts.join(" · ");
}

export function summary(search) {
  const { photos, clusters, estimated } = search;
  if (clusters) {
    const { totalCount, inViewCount, withoutLocationCount } = clusters;
    if (!totalCount) return "No photos";
    const parts = [plural(totalCount, "photo", "photos"), `${inViewCount.toLocaleString("en")} in this view`];
    return withoutLocation(parts, withoutLocationCount, estimated);
  }
  if (!photos) return "";
  if (!photos.length) return "No photos";
  const placed = photos.filter(hasCoordinates).length;
  const parts = [`${photos.length} ${photos.length === 1 ? "photo" : "photos"}`, `${placed} on the map`];
  return withoutLocation(parts, photos.length - placed, estimated);
}

function failureOverlay(error, retryIn = 0) {
  switch (failureKind(error)) {
    case "setup": {
      const title = SETUP_TITLES.get(error.code) ?? SETUP_TITLES.get("immich_not_configured");
      return { kind: "error", title, detail: error.message, action: "settings" };
    }
    case "unavailable": {
      const again = retryIn ? ` Trying again in ${retryIn} s.` : "";
      return { kind: "error", title: "Your photos could not be loaded", detail: error.message + again, action: "retry" };
    }
    default:
      return { kind: "error", title: "That search did not work", detail: error.message };
  }
}

function nothingFound({ range, centre, radius }) {
  const where = centre ? ` within ${formatDistance(radius)} of the chosen place` : "";
  return {
    kind: "empty",
    title: "No photos found",
    detail:
      `Nothing was taken between ${formatDay(range.start)} and ${formatDay(range.end)}${where}. ` +
      `Try a wider date range${centre ? " or radius" : ""}.`,
  };
}

/**
 * The message over the map, {kind, title, detail?, action?} with kind loading, empty or error
 * and action "settings" or "retry"; null when the map speaks for itself.
 */
export function overlay(search) {
  switch (search.status) {
    case "invalid":
      return { kind: "error", title: "Check the dates", detail: search.problem };
    case "loading":
      if (search.slow) {
        return {
          kind: "loading",
          title: "Searching your photos in Immich…",
          detail: "A first search of a large library takes a while; the index makes the next ones fast.",
          action: "cancel",
        };
      }
      return { kind: "loading", title: "Searching your photos…" };
    case "placing":
      return { kind: "loading", title: `Placing ${search.photos.filter(hasCoordinates).length} photos on the map…` };
    case "failed":
      return failureOverlay(search.error, search.retryIn);
    case "ready":
      if (search.clusters) return clustersOverlay(search);
      if (!search.photos.length) return nothingFound(search.query);
      if (!search.photos.some(hasCoordinates)) {
        return { kind: "empty", title: "None of these photos has a location", detail: "They are listed in the timeline below." };
      }
      return null;
    default:
      return null;
  }
}

function clustersOverlay(search) {
  const { totalCount, withoutLocationCount } = search.clusters;
  if (!totalCount) return nothingFound(search.query);
  if (totalCount === withoutLocationCount) {
    return { kind: "empty", title: "None of these photos has a location", detail: "Only photos with a place appear on the map." };
  }
  return null;
}

const FAILURE_TIMELINE = {
  setup: "Your photos will appear here once Immich is set up.",
  unavailable: "Nothing to show until your photos load.",
  rejected: "",
};

/**
 * What the timeline strip shows: {photos} or {message}; null keeps what it shows now (a
 * search in progress leaves the last result in place).
 */
export function timelineContent(search) {
  if (search.status === "failed") return { message: FAILURE_TIMELINE[failureKind(search.error)] };
  if (search.status === "loading" && !search.photos) return { message: "Searching…" };
  if (search.status !== "placing" && search.status !== "ready") return null;
  if (!search.photos) return null;
  return search.photos.length ? { photos: search.photos } : { message: "No photos in this range." };
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** How fresh the map is: "Up to date as of 10:42" from the index, "Live from Immich" otherwise. */
export function freshness(clusters) {
  if (!clusters || !clusters.source) return "";
  if (clusters.source !== "index") return "Live from Immich";
  const at = clusters.indexedAt ? new Date(clusters.indexedAt) : null;
  return at && !Number.isNaN(at.getTime()) ? `Up to date as of ${timeFormat.format(at)}` : "Up to date";
}

/** The index banner's text while a first sync runs or after one failed, else "". */
export function indexBanner(index) {
  if (!index) return "";
  if (index.status === "syncing") {
    const progress = index.progress;
    // The total is null until Immich has said it (or when the key may not ask).
    const of = progress && progress.total != null ? ` of ${progress.total.toLocaleString("en")}` : "";
    const done = progress ? `: ${progress.done.toLocaleString("en")}${of} photos` : "…";
    return `Indexing your library${done}. The map answers from Immich directly until it is done.`;
  }
  if (index.lastError) return `The library index could not be brought up to date (${index.lastError}). The map may be a little behind.`;
  return "";
}
