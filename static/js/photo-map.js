// The Leaflet map: the server's clusters for the view (or, near a place, markercluster over
// the photos found), the hover/tap/focus preview and the location circle.
import { formatSpan, formatTaken, parseTaken } from "./dates.js";
import { el } from "./dom.js";
import { hasCoordinates, photoName } from "./photos.js";
import { thumbnailSlot } from "./thumbnail.js";

const L = window.L;

const PREVIEW_DELAY_MS = 300;
// A touch is followed by emulated mouse events; ignore those for this long.
const TOUCH_MOUSE_GRACE_MS = 1000;
const CAMERA_SVG =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3Zm3 4.5a5 5 0 1 1 0 10 5 5 0 0 1 0-10Zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6Z"/></svg>';

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Web Mercator stops here: the map never shows the grey beyond it.
const MAX_LATITUDE = 85.0511287798;
const WORLD = [
  [-MAX_LATITUDE, -100_000],
  [MAX_LATITUDE, 100_000],
];
// A cluster whose photos lie closer together than this (in screen pixels once zoomed to
// them) opens the grid instead of zooming further.
const SMALL_BBOX_DEGREES = 1e-4;

function clusterIcon(cluster) {
  return countIcon(cluster.getChildCount());
}

function countIcon(count) {
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
   * onPickLocation(latlng), onView(view) after each move or zoom, and for the server's
   * clusters: loadCluster(cluster, limit) → photos, onOpenCluster(cluster, focusTarget),
   * onHoverCluster(cluster|null)
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

    this.clusters = [];
    this.clusterMarkers = new Map(); // cell -> marker of the server's clusters
    this.map = L.map(container, {
      worldCopyJump: true,
      zoomControl: true,
      maxBounds: WORLD,
      maxBoundsViscosity: 1,
    }).setView([20, 0], 2);
    this.fitMinZoom();
    this.map.on("resize", () => this.fitMinZoom());
    this.clusterLayer = L.layerGroup().addTo(this.map);
    L.tileLayer(options.tileUrl, {
      attribution: options.tileAttribution || "",
      maxZoom: 19,
      crossOrigin: false,
    }).addTo(this.map);

    this.cluster = this.newClusterGroup();

    // On the whole page: a tap on the preview (outside the map) is a touch too.
    document.addEventListener(
      "pointerdown",
      (event) => {
        if (event.pointerType !== "mouse") this.lastTouchAt = Date.now();
      },
      true,
    );
    this.map.on("click", (e) => this.onMapClick(e));
    this.map.on("zoomstart movestart", () => this.hidePreview());
    this.map.on("moveend", () => this.options.onView && this.options.onView(this.view()));
    this.preview.addEventListener("click", (event) => {
      const button = event.target.closest("[data-open-preview]");
      const target = this.previewTarget;
      if (!button || !target) return;
      if (target.server) {
        this.hidePreview();
        this.options.onOpenCluster(target.server, target.layer.getElement() || this.container);
      } else {
        this.openTarget(target);
      }
    });
  }

  /** The least zoom at which the world is as tall as the map, so no grey shows above or below. */
  fitMinZoom() {
    const height = this.container.clientHeight || 256;
    const zoom = Math.max(0, Math.ceil(Math.log2(height / 256)));
    this.map.setMinZoom(zoom);
    if (this.map.getZoom() < zoom) this.map.setZoom(zoom, { animate: false });
  }

  /** The view as the map API wants it: unwrapped bounds (beyond ±180 when it crosses) and zoom. */
  view() {
    const bounds = this.map.getBounds();
    const clampLat = (lat) => Math.max(-90, Math.min(90, lat));
    let west = bounds.getWest();
    let east = bounds.getEast();
    // Whole turns taken off to keep within the API's -540..540; put back on the answer's longitudes.
    let shift = 0;
    if (east - west >= 360) {
      west = -180;
      east = 180;
    } else if (west < -540 || east > 540) {
      shift = Math.round((west + east) / 2 / 360) * 360;
      west -= shift;
      east -= shift;
    }
    const south = clampLat(bounds.getSouth());
    const north = clampLat(bounds.getNorth());
    return { west, south, east, north, zoom: this.map.getZoom(), shift };
  }

  /** Show this box {west, south, east, north}, at most at street level. */
  frame({ west, south, east, north }) {
    const bounds = L.latLngBounds([south, west], [north, east]);
    const map = this.map;
    const zoom = Math.max(map.getMinZoom(), Math.min(map.getBoundsZoom(bounds, false, L.point(80, 80)), 15));
    const centre = bounds.getCenter();
    const here = map.getCenter();
    // The copy of the box nearest to where the map is now.
    const lng = centre.lng + Math.round((here.lng - centre.lng) / 360) * 360;
    map.setView([centre.lat, lng], zoom, { animate: false });
  }

  /** Draw the server's clusters: a count bubble each, a camera for a photo alone. */
  setClusters(clusters, shift = 0) {
    if (this.cluster.getLayers().length) this.cluster.clearLayers();
    // A preview open on a cluster that is still there stays open (a tap may nudge the map).
    const kept = this.previewTarget && this.previewTarget.server ? this.previewTarget.server.cell : null;
    if (!kept) this.hidePreview();
    this.clearHighlight();
    this.clusterLayer.clearLayers();
    this.clusterMarkers = new Map();
    this.clusters = clusters;
    for (const cluster of clusters) {
      const single = cluster.count === 1;
      const marker = L.marker([cluster.latitude, cluster.longitude + shift], {
        icon: single
          ? L.divIcon({
              html: `${CAMERA_SVG}<span class="visually-hidden">Photo</span>`,
              className: "photo-marker",
              iconSize: L.point(30, 30),
            })
          : countIcon(cluster.count),
        keyboard: true,
        riseOnHover: true,
        // Bubbles over lone photos, bigger over smaller, so the one that hides another is the larger.
        zIndexOffset: single ? 0 : 1000 + Math.min(cluster.count, 100_000) / 100,
      });
      marker.serverCluster = cluster;
      const target = { layer: marker, isCluster: !single, server: cluster };
      marker.on("mouseover", () => this.onHover(marker, !single, target));
      marker.on("mouseout", () => this.onLeave());
      marker.on("click", () => this.onActivate(marker, !single, target));
      marker.on("keypress", (e) => this.onKey(e, !single, target));
      marker.on("add", () => {
        const element = marker.getElement();
        element.dataset.cell = cluster.cell;
        // Keyboard focus previews; the focus a tap or click gives leaves the preview to them.
        element.addEventListener("focus", () => {
          if (element.matches(":focus-visible") && !this.isTouch()) this.showPreview(target, false);
        });
        element.addEventListener("blur", () => {
          if (this.previewTarget === target && !this.preview.classList.contains("map-preview--touch")) this.hidePreview();
        });
      });
      marker.addTo(this.clusterLayer);
      this.clusterMarkers.set(cluster.cell, marker);
      if (cluster.cell === kept && cluster.count === this.previewTarget.server.count) this.previewTarget = target;
    }
    if (kept && !(this.previewTarget && this.clusterMarkers.get(kept) === this.previewTarget.layer)) this.hidePreview();
  }

  /** What a click on a server cluster does: zoom to its photos, or (close enough) open them. */
  activateServerCluster(target) {
    const { server, layer } = target;
    const [west, south, east, north] = server.bbox;
    const atMost = this.map.getZoom() >= this.map.getMaxZoom();
    const small = east - west < SMALL_BBOX_DEGREES && north - south < SMALL_BBOX_DEGREES;
    if (server.count > 1 && !atMost && !small) {
      this.hidePreview();
      this.map.fitBounds([[south, west], [north, east]], { padding: [40, 40], maxZoom: this.map.getMaxZoom() });
      return;
    }
    this.hidePreview();
    this.options.onOpenCluster(server, layer.getElement() || this.container);
  }

  /** Outline the server clusters in these cells (null clears). */
  highlightCells(cells) {
    this.clearHighlight();
    if (!cells) return;
    for (const cell of cells) {
      const element = this.clusterMarkers.get(cell)?.getElement();
      if (element) {
        element.classList.add("is-highlighted");
        this.highlighted.push(element);
      }
    }
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
    this.clusterLayer.clearLayers();
    this.clusterMarkers = new Map();
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

  onHover(layer, isCluster, target = { layer, isCluster }) {
    if (this.isTouch()) return;
    window.clearTimeout(this.previewTimer);
    this.previewTimer = window.setTimeout(() => this.showPreview(target, false), PREVIEW_DELAY_MS);
  }

  onLeave() {
    if (this.isTouch()) return;
    // Keyboard focus keeps its preview; the pointer leaving does not take it away.
    if (this.previewTarget && this.previewTarget.layer.getElement() === document.activeElement) return;
    this.hidePreview();
  }

  onActivate(layer, isCluster, target = { layer, isCluster }) {
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

  onKey(event, isCluster, target = { layer: event.layer, isCluster }) {
    const key = event.originalEvent && event.originalEvent.key;
    if (key === "Enter" || key === " ") {
      event.originalEvent.preventDefault();
      this.openTarget(target);
    }
  }

  openTarget(target) {
    if (target.server) {
      this.activateServerCluster(target);
      return;
    }
    const { layer, isCluster } = target;
    this.hidePreview();
    const element = layer.getElement ? layer.getElement() : null;
    this.options.onOpen(this.photosOf(layer, isCluster), 0, element || this.container);
  }

  onMapClick(event) {
    this.hidePreview();
    if (this.picking) this.options.onPickLocation(event.latlng);
  }

  async showPreview(target, touch) {
    window.clearTimeout(this.previewTimer);
    const { layer, isCluster } = target;
    if (!layer.getElement()) return;
    this.previewTarget = target;
    if (target.server) this.options.onHoverCluster(target.server);
    let photos;
    let oldest = null;
    if (target.server) {
      try {
        ({ photos, oldest } = await this.options.loadCluster(target.server, 4));
      } catch {
        return;
      }
      // The pointer or focus moved on while the photos loaded.
      if (this.previewTarget !== target || !layer.getElement()) return;
    } else {
      photos = this.photosOf(layer, isCluster);
    }
    if (!photos.length) return;
    const count = target.server ? target.server.count : photos.length;
    const box = this.preview;
    box.replaceChildren();
    box.classList.toggle("map-preview--cluster", isCluster);
    box.classList.toggle("map-preview--touch", touch);
    if (isCluster) {
      const thumbnails = photos.slice(0, 4).map((photo) => thumbnailSlot(photo));
      const dates = [...photos, oldest].filter(Boolean).map((p) => parseTaken(p.takenAt)).filter(Boolean);
      dates.sort((a, b) => a - b);
      const span = formatSpan(dates[0], dates[dates.length - 1]);
      box.append(
        el("div", { class: "preview-grid" }, ...thumbnails),
        el("p", { class: "preview-title" }, `${count.toLocaleString("en")} photos`),
        el("p", { class: "preview-meta" }, span),
      );
    } else {
      const photo = photos[0];
      box.append(
        thumbnailSlot(photo, { className: "preview-image" }),
        el("p", { class: "preview-title" }, photoName(photo)),
        el("p", { class: "preview-meta" }, formatTaken(photo.takenAt)),
      );
    }
    if (touch) {
      const label = isCluster ? `View ${count.toLocaleString("en")} photos` : "View photo";
      const attributes = { class: "button button--primary preview-open", type: "button", "data-open-preview": true };
      box.append(el("button", attributes, label));
    }
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
    if (this.previewTarget && this.previewTarget.server) this.options.onHoverCluster(null);
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
