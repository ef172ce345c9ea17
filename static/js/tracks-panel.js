// Location history on the map: the "estimated positions" switch, hollow dashed markers for
// photos placed from the user's own tracks, and the tracks of the shown range, simplified
// for the zoom. Takes its container and the Leaflet map; never touches the other components.
import { getJson } from "./api.js";
import { toIsoUtc } from "./dates.js";
import { el } from "./dom.js";

const L = window.L;
const PATH_URL = "/api/users/me/tracks/path";
const REMEMBER = "photo-atlas:show-estimated";

function estimateText(photo) {
  return `estimated ±${photo.estimatedLocation.accuracyMeters.toLocaleString()} m`;
}

export class TracksPanel {
  /** options: map (Leaflet), onOpen(photos, index, focusTarget), onToggle(enabled) */
  constructor(container, { map, onOpen, onToggle }) {
    this.map = map;
    this.onOpen = onOpen;
    this.range = null;
    this.pathController = null;
    this.markers = L.layerGroup().addTo(map);
    this.paths = L.layerGroup().addTo(map);

    this.toggle = el("input", { type: "checkbox", id: "show-estimated" });
    this.toggle.checked = localStorage.getItem(REMEMBER) === "1";
    container.append(el("label", { class: "check" }, this.toggle, el("span", {}, "Estimated positions from my tracks")));
    container.hidden = false;

    this.toggle.addEventListener("change", () => {
      localStorage.setItem(REMEMBER, this.toggle.checked ? "1" : "0");
      if (!this.toggle.checked) this.clear();
      onToggle(this.toggle.checked);
    });
    let timer = 0;
    map.on("zoomend", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => this.drawPath(), 250);
    });
  }

  get enabled() {
    return this.toggle.checked;
  }

  /** Ask the search for estimates when the switch is on. */
  addParams(params) {
    if (this.enabled) params.set("includeEstimated", "true");
  }

  /** The photos of a search: those with an estimate get a marker of their own. */
  show(photos, range) {
    this.markers.clearLayers();
    this.range = range;
    if (!this.enabled) return [];
    const estimated = photos.filter((p) => p.estimatedLocation && typeof p.latitude !== "number");
    estimated.forEach((photo, index) => {
      const { latitude, longitude } = photo.estimatedLocation;
      const marker = L.circleMarker([latitude, longitude], {
        radius: 9,
        className: "photo-marker--estimated",
        dashArray: "4 3",
        fillOpacity: 0.15,
        weight: 2,
        keyboard: true,
      });
      marker.bindTooltip(`${photo.originalFileName || "Photo"} · ${estimateText(photo)}`);
      marker.on("click", () => this.onOpen(estimated, index, null));
      this.markers.addLayer(marker);
    });
    this.drawPath();
    return estimated;
  }

  async drawPath() {
    if (!this.enabled || !this.range) {
      this.paths.clearLayers();
      return;
    }
    if (this.pathController) this.pathController.abort();
    this.pathController = new AbortController();
    const params = new URLSearchParams({
      startDate: toIsoUtc(this.range.start),
      endDate: toIsoUtc(this.range.end),
      zoom: String(Math.round(this.map.getZoom())),
    });
    try {
      const data = await getJson(`${PATH_URL}?${params}`, { signal: this.pathController.signal });
      this.paths.clearLayers();
      for (const line of data.lines) {
        this.paths.addLayer(L.polyline(line, { className: "track-line", weight: 3, opacity: 0.7, interactive: false }));
      }
    } catch {
      // No tracks, or Immich not set up: the map simply shows no path.
    }
  }

  clear() {
    this.markers.clearLayers();
    this.paths.clearLayers();
  }
}

export { estimateText };
