// The Leaflet map: clustered photo markers, the hover/tap preview and the location circle.
import { authImage, withSize } from "./api.js";
import { formatSpan, formatTaken, parseTaken } from "./dates.js";
import { el } from "./dom.js";
import { hasCoordinates, photoName } from "./photos.js";

const L = window.L;

const PREVIEW_DELAY_MS = 300;
// A touch is followed by emulated mouse events; ignore those for this long.
const TOUCH_MOUSE_GRACE_MS = 1000;
const CAMERA_SVG =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3Zm3 4.5a5 5 0 1 1 0 10 5 5 0 0 1 0-10Zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6Z"/></svg>';

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function clusterIcon(cluster) {
  const count = cluster.getChildCount();
  const digits = String(count).length;
  const size = digits === 1 ? "small" : digits === 2 ? "medium" : "large";
  const px = [36, 36, 42, 50, 56][Math.min(digits, 4)] + Math.max(0, digits - 4) * 8;
  return L.divIcon({
    html: `<span class="photo-cluster-count">${count}</span><span class="visually-hidden"> photos</span>`,
    className: `photo-cluster photo-cluster--${size}`,
    iconSize: L.point(px, px),
  });
}

export class PhotoMap {
  /**
   * options: tileUrl, tileAttribution, previewElement, onOpen(photos, index, focusTarget),
   * onPickLocation(latlng)
   */
  constructor(container, options) {
    this.options = options;
    this.container = container;
    this.preview = options.previewElement;
    this.photos = [];
    this.markerByPhoto = new Map();
    this.highlighted = [];
    this.previewTimer = 0;
    this.previewTarget = null;
    this.lastTouchAt = 0;
    this.picking = false;
    this.circle = null;
    this.centre = null;

    this.map = L.map(container, { worldCopyJump: true, zoomControl: true }).setView([20, 0], 2);
    L.tileLayer(options.tileUrl, {
      attribution: options.tileAttribution || "",
      maxZoom: 19,
      crossOrigin: false,
    }).addTo(this.map);

    this.cluster = this.newClusterGroup();

    container.addEventListener(
      "pointerdown",
      (event) => {
        if (event.pointerType !== "mouse") this.lastTouchAt = Date.now();
      },
      true,
    );
    this.map.on("click", (e) => this.onMapClick(e));
    this.map.on("zoomstart movestart", () => this.hidePreview());
    this.preview.addEventListener("click", (event) => {
      const button = event.target.closest("[data-open-preview]");
      if (button && this.previewTarget) this.openTarget(this.previewTarget);
    });
  }

  // A fresh group per result set: markercluster cannot cancel a chunked load in progress.
  newClusterGroup() {
    const group = L.markerClusterGroup({
      chunkedLoading: true,
      zoomToBoundsOnClick: false,
      spiderfyOnMaxZoom: false,
      showCoverageOnHover: false,
      removeOutsideVisibleBounds: true,
      iconCreateFunction: clusterIcon,
    });
    group.on("mouseover", (e) => this.onHover(e.layer, false));
    group.on("clustermouseover", (e) => this.onHover(e.layer, true));
    group.on("mouseout clustermouseout", () => this.onLeave());
    group.on("click", (e) => this.onActivate(e.layer, false));
    group.on("clusterclick", (e) => this.onActivate(e.layer, true));
    group.on("keypress", (e) => this.onKey(e, false));
    group.on("clusterkeypress", (e) => this.onKey(e, true));
    this.map.addLayer(group);
    return group;
  }

  isTouch() {
    return Date.now() - this.lastTouchAt < TOUCH_MOUSE_GRACE_MS;
  }

  /** Replace the markers; resolves once markercluster has processed all of them. */
  setPhotos(photos) {
    this.hidePreview();
    this.clearHighlight();
    this.map.removeLayer(this.cluster);
    this.cluster = this.newClusterGroup();
    this.photos = photos;
    this.markerByPhoto = new Map();
    const markers = [];
    photos.forEach((photo, index) => {
      if (!hasCoordinates(photo)) return;
      const name = escapeHtml(photoName(photo));
      const marker = L.marker([photo.latitude, photo.longitude], {
        icon: L.divIcon({
          html: `${CAMERA_SVG}<span class="visually-hidden">${name}</span>`,
          className: "photo-marker",
          iconSize: L.point(30, 30),
        }),
        keyboard: true,
      });
      marker.photoIndex = index;
      markers.push(marker);
      this.markerByPhoto.set(photo, marker);
    });
    if (!markers.length) return Promise.resolve(0);
    const bounds = L.latLngBounds(markers.map((m) => m.getLatLng()));
    if (this.centre) bounds.extend(this.circle.getBounds());
    this.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 15, animate: false });
    return new Promise((resolve) => {
      this.cluster.options.chunkProgress = (processed, total) => {
        if (processed >= total) resolve(markers.length);
      };
      // One bulk call: markercluster builds its tree in chunks without blocking the page.
      this.cluster.addLayers(markers);
    });
  }

  clearPhotos() {
    this.setPhotos([]);
  }

  photosOf(layer, isCluster) {
    if (!isCluster) return [this.photos[layer.photoIndex]];
    return layer
      .getAllChildMarkers()
      .map((marker) => marker.photoIndex)
      .sort((a, b) => a - b)
      .map((index) => this.photos[index]);
  }

  onHover(layer, isCluster) {
    if (this.isTouch()) return;
    window.clearTimeout(this.previewTimer);
    this.previewTimer = window.setTimeout(
      () => this.showPreview({ layer, isCluster }, false),
      PREVIEW_DELAY_MS,
    );
  }

  onLeave() {
    if (this.isTouch()) return;
    this.hidePreview();
  }

  onActivate(layer, isCluster) {
    const target = { layer, isCluster };
    if (this.isTouch()) {
      // First tap previews, a second tap on the same marker opens the viewer.
      if (this.previewTarget && this.previewTarget.layer === layer && !this.preview.hidden) {
        this.openTarget(target);
      } else {
        this.showPreview(target, true);
      }
      return;
    }
    this.openTarget(target);
  }

  onKey(event, isCluster) {
    const key = event.originalEvent && event.originalEvent.key;
    if (key === "Enter" || key === " ") {
      event.originalEvent.preventDefault();
      this.openTarget({ layer: event.layer, isCluster });
    }
  }

  openTarget({ layer, isCluster }) {
    this.hidePreview();
    const element = layer.getElement ? layer.getElement() : null;
    this.options.onOpen(this.photosOf(layer, isCluster), 0, element || this.container);
  }

  onMapClick(event) {
    this.hidePreview();
    if (this.picking) this.options.onPickLocation(event.latlng);
  }

  showPreview(target, touch) {
    window.clearTimeout(this.previewTimer);
    const { layer, isCluster } = target;
    if (!layer.getElement()) return;
    const photos = this.photosOf(layer, isCluster);
    const box = this.preview;
    box.replaceChildren();
    box.classList.toggle("map-preview--cluster", isCluster);
    box.classList.toggle("map-preview--touch", touch);
    if (isCluster) {
      const thumbnails = photos.slice(0, 4).map((photo) => authImage(withSize(photo.thumbnailUrl, "thumbnail")));
      const dates = photos.map((p) => parseTaken(p.takenAt)).filter(Boolean);
      box.append(
        el("div", { class: "preview-grid" }, ...thumbnails),
        el("p", { class: "preview-title" }, `${photos.length} photos`),
        el("p", { class: "preview-meta" }, formatSpan(dates[0], dates[dates.length - 1])),
      );
    } else {
      const photo = photos[0];
      box.append(
        authImage(withSize(photo.thumbnailUrl, "thumbnail"), { className: "preview-image" }),
        el("p", { class: "preview-title" }, photoName(photo)),
        el("p", { class: "preview-meta" }, formatTaken(photo.takenAt)),
      );
    }
    if (touch) {
      const label = isCluster ? `View ${photos.length} photos` : "View photo";
      const attributes = { class: "button button--primary preview-open", type: "button", "data-open-preview": true };
      box.append(el("button", attributes, label));
    }
    this.previewTarget = target;
    box.hidden = false;
    this.placePreview(layer);
  }

  /** Put the preview beside the marker (above, below, right or left) without covering it. */
  placePreview(layer) {
    const box = this.preview;
    const areaWidth = this.container.clientWidth;
    const areaHeight = this.container.clientHeight;
    const point = this.map.latLngToContainerPoint(layer.getLatLng());
    const icon = layer.getElement();
    const reach = (icon ? icon.offsetWidth / 2 : 15) + 4;
    const width = box.offsetWidth;
    const height = box.offsetHeight;
    const gap = reach + 6;
    const margin = 8;
    const clamp = (value, low, high) => Math.max(low, Math.min(value, high));
    const fit = ({ left, top }) => ({
      left: clamp(left, margin, areaWidth - width - margin),
      top: clamp(top, margin, areaHeight - height - margin),
    });
    const covers = ({ left, top }) =>
      left < point.x + reach && left + width > point.x - reach && top < point.y + reach && top + height > point.y - reach;
    const candidates = [
      { left: point.x - width / 2, top: point.y - gap - height },
      { left: point.x - width / 2, top: point.y + gap },
      { left: point.x + gap, top: point.y - height / 2 },
      { left: point.x - gap - width, top: point.y - height / 2 },
    ].map(fit);
    const chosen = candidates.find((candidate) => !covers(candidate)) || candidates[0];
    box.style.left = `${Math.round(chosen.left)}px`;
    box.style.top = `${Math.round(chosen.top)}px`;
  }

  hidePreview() {
    window.clearTimeout(this.previewTimer);
    this.previewTarget = null;
    if (!this.preview.hidden) {
      this.preview.hidden = true;
      this.preview.replaceChildren();
    }
  }

  /** Outline the markers or clusters that hold these photos (null clears). */
  highlight(photos) {
    this.clearHighlight();
    if (!photos) return;
    const seen = new Set();
    for (const photo of photos) {
      const marker = this.markerByPhoto.get(photo);
      if (!marker) continue;
      const shown = this.cluster.getVisibleParent(marker);
      if (!shown || seen.has(shown)) continue;
      seen.add(shown);
      const element = shown.getElement();
      if (element) {
        element.classList.add("is-highlighted");
        this.highlighted.push(element);
      }
    }
  }

  clearHighlight() {
    for (const element of this.highlighted) element.classList.remove("is-highlighted");
    this.highlighted = [];
  }

  /** Fit the map to these photos' places, if any have one. */
  focusPhotos(photos) {
    const points = photos.filter(hasCoordinates).map((p) => [p.latitude, p.longitude]);
    if (points.length) this.map.fitBounds(L.latLngBounds(points), { padding: [40, 40], maxZoom: 15 });
  }

  setPicking(picking) {
    this.picking = picking;
    this.container.classList.toggle("is-picking", picking);
  }

  setLocation(centre, radiusMeters) {
    this.centre = centre;
    if (!centre) {
      if (this.circle) this.circle.remove();
      this.circle = null;
      return;
    }
    if (!this.circle) {
      this.circle = L.circle(centre, {
        radius: radiusMeters,
        interactive: false,
        className: "location-circle",
        color: "#1f6f8b",
        weight: 2,
        fillOpacity: 0.08,
      }).addTo(this.map);
    } else {
      this.circle.setLatLng(centre);
      this.circle.setRadius(radiusMeters);
    }
  }

  showLocation() {
    if (this.circle) this.map.fitBounds(this.circle.getBounds(), { padding: [20, 20] });
  }
}
