// The photo viewer: a modal <dialog> showing one photo of a list at a time, zoomable, with
// its original at full resolution on demand.
import { ApiError, ensureSession, fetchBlob, fetchImage, withSize } from "./api.js";
import { formatTaken } from "./dates.js";
import { el, elementsById } from "./dom.js";
import { formatCoordinates, photoName } from "./photos.js";
import { Prefetcher } from "./prefetch.js";
import { ImageZoom } from "./zoom.js";

const SWIPE_MIN_PX = 50;
const CACHE_SIZE = 8;
const KEY_ZOOM = 1.5;
const PREFETCHED = [2, 3, -1]; // beyond the next photo, which is preloaded whole below
// The dialog's elements (map.html), by id without the "viewer-" prefix.
const PARTS = [
  "title",
  "counter",
  "fullscreen",
  "close",
  "stage",
  "prev",
  "next",
  "image",
  "loading",
  "error",
  "retry",
  "date",
  "coords",
  "place-row",
  "place",
  "download",
];

export class PhotoViewer {
  constructor(dialog) {
    this.dialog = dialog;
    this.photos = [];
    this.index = 0;
    this.returnFocusTo = null;
    this.loadToken = 0;
    this.downloadConfirmed = false;
    this.cache = new Map(); // photo id -> blob: URL of its largest loaded image
    this.ui = elementsById(PARTS, dialog, "viewer-");
    this.original = null; // {id, controller, url}: the full-resolution original, once asked for
    this.buildOriginalControls();
    this.zoom = new ImageZoom(this.ui.image.parentElement, this.ui.image);
    this.prefetcher = new Prefetcher();

    this.ui.close.addEventListener("click", () => this.close());
    this.ui.fullscreen.hidden = !document.fullscreenEnabled;
    this.ui.fullscreen.addEventListener("click", () => this.toggleFullscreen());
    document.addEventListener("fullscreenchange", () => {
      const on = document.fullscreenElement === dialog;
      this.ui.fullscreen.setAttribute("aria-pressed", String(on));
      this.ui.fullscreen.setAttribute("aria-label", on ? "Leave full screen" : "Full screen");
    });
    this.ui.retry.addEventListener("click", () => this.show(this.index));
    this.ui.prev.addEventListener("click", () => this.step(-1));
    this.ui.next.addEventListener("click", () => this.step(1));
    dialog.addEventListener("keydown", (event) => this.onKey(event));
    dialog.addEventListener("close", () => this.onClose());
    // A click on the backdrop (outside the dialog box) closes it, as on most photo sites.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) this.close();
    });
    this.ui.download.addEventListener("click", (event) => this.onDownload(event));
    this.ui.original.addEventListener("click", () => this.showOriginal());
    // A placeholder thumbnail that fails is hidden; the large image may still arrive.
    this.ui.image.addEventListener("error", () => this.ui.image.classList.add("is-broken"));
    this.wireSwipe();
  }

  get isOpen() {
    return this.dialog.open;
  }

  open(photos, index = 0, returnFocusTo = document.activeElement) {
    if (!photos.length) return;
    this.photos = photos;
    this.returnFocusTo = returnFocusTo instanceof HTMLElement ? returnFocusTo : null;
    const several = photos.length > 1;
    this.ui.prev.hidden = !several;
    this.ui.next.hidden = !several;
    this.ui.counter.hidden = !several;
    this.dialog.classList.toggle("viewer--single", !several);
    if (!this.dialog.open) this.dialog.showModal();
    this.show(index);
    this.ui.close.focus();
  }

  close() {
    if (document.fullscreenElement === this.dialog) document.exitFullscreen().catch(() => {});
    if (this.dialog.open) this.dialog.close();
  }

  toggleFullscreen() {
    if (document.fullscreenElement === this.dialog) {
      document.exitFullscreen().catch(() => {});
    } else {
      this.dialog.requestFullscreen().catch(() => {});
    }
  }

  step(delta) {
    if (this.photos.length < 2) return;
    const next = (this.index + delta + this.photos.length) % this.photos.length;
    this.show(next);
  }

  show(index) {
    this.dropOriginal();
    this.zoom.reset();
    this.index = index;
    const photo = this.photos[index];
    const name = photoName(photo);
    this.ui.title.textContent = name;
    this.ui.counter.textContent = `${index + 1} of ${this.photos.length}`;
    this.ui.date.textContent = formatTaken(photo.takenAt);
    this.ui.coords.textContent = formatCoordinates(photo);
    const place = [photo.city, photo.country].filter(Boolean).join(", ");
    this.ui.place.textContent = place;
    this.ui.placeRow.hidden = !place;
    this.ui.download.href = photo.downloadUrl;
    // A share that does not allow downloads gives no original to show either.
    this.ui.original.hidden = !photo.downloadUrl;
    this.ui.download.setAttribute("download", photo.originalFileName || "");
    this.ui.image.alt = name;
    this.loadImage(photo);
  }

  setState(state) {
    this.dialog.dataset.state = state;
    if (!this.original) this.ui.original.setAttribute("aria-disabled", String(state !== "ready"));
    this.ui.loading.hidden = state !== "loading";
    this.ui.error.hidden = state !== "error";
    this.ui.image.hidden = state === "error";
  }

  async loadImage(photo) {
    const token = ++this.loadToken;
    const cached = this.cache.get(photo.id);
    if (cached) {
      this.ui.image.classList.remove("is-placeholder", "is-broken");
      this.ui.image.src = cached;
      this.setState("ready");
      this.preloadNeighbours();
      return;
    }
    // The small thumbnail shows at once (it is usually cached from the map); the large
    // preview replaces it when it arrives.
    this.ui.image.classList.remove("is-broken");
    this.ui.image.classList.add("is-placeholder");
    this.ui.image.src = withSize(photo.thumbnailUrl, "thumbnail");
    this.setState("loading");
    let url = null;
    for (const size of ["preview", "thumbnail"]) {
      try {
        url = await fetchImage(withSize(photo.thumbnailUrl, size));
        break;
      } catch (error) {
        if (!(error instanceof ApiError)) break;
      }
    }
    if (token !== this.loadToken) {
      if (url) this.remember(photo.id, url);
      return;
    }
    if (!url) {
      this.setState("error");
      return;
    }
    this.remember(photo.id, url);
    this.ui.image.src = url;
    this.ui.image.classList.remove("is-placeholder", "is-broken");
    try {
      await this.ui.image.decode();
    } catch {
      // decode() rejects for images it cannot decode early; the <img> still tries.
    }
    if (token === this.loadToken) {
      this.setState("ready");
      this.preloadNeighbours();
    }
  }

  remember(id, url) {
    this.cache.set(id, url);
    while (this.cache.size > CACHE_SIZE) {
      const [oldest, oldUrl] = this.cache.entries().next().value;
      if (oldUrl === this.ui.image.src) break;
      this.cache.delete(oldest);
      URL.revokeObjectURL(oldUrl);
    }
  }

  preloadNeighbours() {
    if (this.photos.length < 2) return;
    const count = this.photos.length;
    const current = this.photos[this.index];
    const next = this.photos[(this.index + 1) % count];
    if (!this.cache.has(next.id)) {
      fetchImage(withSize(next.thumbnailUrl, "preview"))
        .then((url) => this.remember(next.id, url))
        .catch(() => {});
    }
    // A few more either side go to the browser's cache, so the steps after are quick too.
    const near = PREFETCHED.map((step) => this.photos[(this.index + step + count) % count]);
    const wanted = near.filter((photo) => photo !== current && photo !== next && !this.cache.has(photo.id));
    this.prefetcher.want(wanted.map((photo) => withSize(photo.thumbnailUrl, "preview")));
  }

  // The original at full resolution: fetched on demand (the app sends it as an attachment),
  // shown through a blob: URL that is revoked when the photo changes or the viewer closes.

  buildOriginalControls() {
    this.ui.original = el("button", { type: "button", class: "button", id: "viewer-original" }, "View full resolution");
    this.ui.originalStatus = el("span", { class: "viewer-original-text" });
    this.ui.originalProgress = el("progress", { max: "1", value: "0" });
    this.ui.originalBox = el(
      "div",
      { class: "viewer-original-status", id: "viewer-original-status", role: "status", hidden: true },
      this.ui.originalProgress,
      this.ui.originalStatus,
    );
    this.ui.download.before(this.ui.original);
    this.ui.image.parentElement.append(this.ui.originalBox);
  }

  async showOriginal() {
    // aria-disabled rather than disabled, so the focus stays on the button meanwhile.
    const photo = this.photos[this.index];
    if (this.dialog.dataset.state !== "ready" || (this.original && this.original.id === photo.id)) return;
    this.dropOriginal();
    const controller = new AbortController();
    const original = { id: photo.id, controller, url: null };
    this.original = original;
    this.renderOriginal("loading", 0, null);
    try {
      const blob = await fetchBlob(photo.downloadUrl, {
        signal: controller.signal,
        onProgress: (loaded, total) => this.original === original && this.renderOriginal("loading", loaded, total),
      });
      if (this.original !== original) return;
      if (!blob.type.startsWith("image/")) throw new TypeError(blob.type || "unknown type");
      original.url = URL.createObjectURL(blob);
      const probe = new Image();
      probe.src = original.url;
      await probe.decode().catch(() => {
        throw new TypeError(blob.type);
      });
      if (this.original !== original) return;
      this.ui.image.src = original.url;
      this.ui.image.classList.remove("is-placeholder", "is-broken");
      this.dialog.dataset.resolution = "original";
      this.renderOriginal("shown");
    } catch (error) {
      if (controller.signal.aborted || this.original !== original) return;
      const message =
        error instanceof TypeError
          ? `Your browser cannot show this file (${error.message}). Download the original instead.`
          : `The original could not be loaded${error instanceof ApiError && error.message ? `: ${error.message}` : "."}`;
      this.renderOriginal("failed", 0, null, message);
    }
  }

  dropOriginal() {
    const original = this.original;
    this.original = null;
    delete this.dialog.dataset.resolution;
    this.renderOriginal("idle");
    if (!original) return;
    original.controller.abort();
    if (original.url) URL.revokeObjectURL(original.url);
  }

  renderOriginal(phase, loaded = 0, total = null, message = "") {
    const { original, originalBox, originalProgress, originalStatus } = this.ui;
    this.dialog.dataset.original = phase;
    const unavailable = phase === "loading" || phase === "shown" || this.dialog.dataset.state !== "ready";
    original.setAttribute("aria-disabled", String(unavailable));
    original.setAttribute("aria-pressed", String(phase === "shown"));
    original.textContent = phase === "shown" ? "Full resolution" : "View full resolution";
    originalBox.hidden = phase === "idle" || phase === "shown";
    originalBox.classList.toggle("is-error", phase === "failed");
    originalProgress.hidden = phase !== "loading";
    if (total) {
      originalProgress.value = loaded / total;
    } else {
      originalProgress.removeAttribute("value"); // indeterminate until the size is known
    }
    let size = loaded ? ` ${formatBytes(loaded)}` : "";
    if (total) size = ` ${Math.round((100 * loaded) / total)}% of ${formatBytes(total)}`;
    originalStatus.textContent = phase === "loading" ? `Loading full resolution…${size}` : message;
  }

  onKey(event) {
    if (event.key === "Tab") {
      this.keepFocusInside(event);
      return;
    }
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowLeft") {
      event.preventDefault();
      this.step(-1);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      this.step(1);
    } else if (event.key === "+" || event.key === "=") {
      event.preventDefault();
      this.zoom.zoomBy(KEY_ZOOM);
    } else if (event.key === "-" || event.key === "_") {
      event.preventDefault();
      this.zoom.zoomBy(1 / KEY_ZOOM);
    } else if (event.key === "0") {
      event.preventDefault();
      this.zoom.reset();
    }
  }

  // A modal dialog already makes the page behind it inert; this also keeps Tab from
  // leaving for the browser's own controls.
  keepFocusInside(event) {
    const focusable = [...this.dialog.querySelectorAll("button, a[href], [tabindex]")].filter(
      (element) => !element.hidden && !element.disabled && element.offsetParent !== null && element.tabIndex >= 0,
    );
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !this.dialog.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !this.dialog.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  onClose() {
    this.loadToken += 1;
    this.dropOriginal();
    this.zoom.reset();
    this.prefetcher.cancel();
    const target = this.returnFocusTo;
    this.returnFocusTo = null;
    if (target && target.isConnected) target.focus();
  }

  async onDownload(event) {
    // The browser fetches the original itself; make sure the access cookie is fresh first.
    if (this.downloadConfirmed) {
      this.downloadConfirmed = false;
      return;
    }
    event.preventDefault();
    try {
      await ensureSession();
    } catch {
      return;
    }
    this.downloadConfirmed = true;
    this.ui.download.click();
  }

  wireSwipe() {
    let start = null;
    this.ui.stage.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse") return;
      start = { x: event.clientX, y: event.clientY, id: event.pointerId };
    });
    const finish = (event) => {
      if (!start || event.pointerId !== start.id) return;
      if (this.zoom.zoomed || this.zoom.gestureUsed) {
        start = null; // a pan, pinch or double tap, not a swipe
        return;
      }
      const dx = event.clientX - start.x;
      const dy = event.clientY - start.y;
      start = null;
      if (Math.abs(dx) >= SWIPE_MIN_PX && Math.abs(dx) > Math.abs(dy) * 1.5) {
        this.step(dx < 0 ? 1 : -1);
      }
    };
    this.ui.stage.addEventListener("pointerup", finish);
    this.ui.stage.addEventListener("pointercancel", () => {
      start = null;
    });
  }
}

function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} kB`;
}
