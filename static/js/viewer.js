// The photo viewer: a modal <dialog> showing one photo of a list at a time.
import { ApiError, ensureSession, fetchImage, withSize } from "./api.js";
import { formatTaken } from "./dates.js";

const SWIPE_MIN_PX = 50;
const CACHE_SIZE = 8;

function formatCoordinates(photo) {
  const guess = photo.estimatedLocation;
  if (guess && typeof photo.latitude !== "number") {
    return `${guess.latitude.toFixed(5)}, ${guess.longitude.toFixed(5)} (estimated ±${guess.accuracyMeters} m)`;
  }
  if (typeof photo.latitude !== "number" || typeof photo.longitude !== "number") {
    return "No location recorded";
  }
  return `${photo.latitude.toFixed(5)}, ${photo.longitude.toFixed(5)}`;
}

export class PhotoViewer {
  constructor(dialog) {
    this.dialog = dialog;
    this.photos = [];
    this.index = 0;
    this.returnFocusTo = null;
    this.loadToken = 0;
    this.downloadConfirmed = false;
    this.cache = new Map(); // photo id -> blob: URL of its largest loaded image
    const $ = (id) => dialog.querySelector(`#${id}`);
    this.title = $("viewer-title");
    this.counter = $("viewer-counter");
    this.image = $("viewer-image");
    this.loading = $("viewer-loading");
    this.error = $("viewer-error");
    this.prevButton = $("viewer-prev");
    this.nextButton = $("viewer-next");
    this.date = $("viewer-date");
    this.coords = $("viewer-coords");
    this.placeRow = $("viewer-place-row");
    this.place = $("viewer-place");
    this.download = $("viewer-download");
    this.stage = $("viewer-stage");

    $("viewer-close").addEventListener("click", () => this.close());
    this.fullscreenButton = $("viewer-fullscreen");
    this.fullscreenButton.hidden = !document.fullscreenEnabled;
    this.fullscreenButton.addEventListener("click", () => this.toggleFullscreen());
    document.addEventListener("fullscreenchange", () => {
      const on = document.fullscreenElement === dialog;
      this.fullscreenButton.setAttribute("aria-pressed", String(on));
      this.fullscreenButton.setAttribute("aria-label", on ? "Leave full screen" : "Full screen");
    });
    $("viewer-retry").addEventListener("click", () => this.show(this.index));
    this.prevButton.addEventListener("click", () => this.step(-1));
    this.nextButton.addEventListener("click", () => this.step(1));
    dialog.addEventListener("keydown", (event) => this.onKey(event));
    dialog.addEventListener("close", () => this.onClose());
    // A click on the backdrop (outside the dialog box) closes it, as on most photo sites.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) this.close();
    });
    this.download.addEventListener("click", (event) => this.onDownload(event));
    // A placeholder thumbnail that fails is hidden; the large image may still arrive.
    this.image.addEventListener("error", () => this.image.classList.add("is-broken"));
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
    this.prevButton.hidden = !several;
    this.nextButton.hidden = !several;
    this.counter.hidden = !several;
    this.dialog.classList.toggle("viewer--single", !several);
    if (!this.dialog.open) this.dialog.showModal();
    this.show(index);
    this.dialog.querySelector("#viewer-close").focus();
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
    this.index = index;
    const photo = this.photos[index];
    const name = photo.originalFileName || "Photo";
    this.title.textContent = name;
    this.counter.textContent = `${index + 1} of ${this.photos.length}`;
    this.date.textContent = formatTaken(photo.takenAt);
    this.coords.textContent = formatCoordinates(photo);
    const place = [photo.city, photo.country].filter(Boolean).join(", ");
    this.place.textContent = place;
    this.placeRow.hidden = !place;
    this.download.href = photo.downloadUrl;
    this.download.setAttribute("download", photo.originalFileName || "");
    this.image.alt = name;
    this.loadImage(photo);
  }

  setState(state) {
    this.dialog.dataset.state = state;
    this.loading.hidden = state !== "loading";
    this.error.hidden = state !== "error";
    this.image.hidden = state === "error";
  }

  async loadImage(photo) {
    const token = ++this.loadToken;
    const cached = this.cache.get(photo.id);
    if (cached) {
      this.image.classList.remove("is-placeholder", "is-broken");
      this.image.src = cached;
      this.setState("ready");
      this.preloadNeighbours();
      return;
    }
    // The small thumbnail shows at once (it is usually cached from the map); the large
    // preview replaces it when it arrives.
    this.image.classList.remove("is-broken");
    this.image.classList.add("is-placeholder");
    this.image.src = withSize(photo.thumbnailUrl, "thumbnail");
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
    this.image.src = url;
    this.image.classList.remove("is-placeholder", "is-broken");
    try {
      await this.image.decode();
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
      if (oldUrl === this.image.src) break;
      this.cache.delete(oldest);
      URL.revokeObjectURL(oldUrl);
    }
  }

  preloadNeighbours() {
    if (this.photos.length < 2) return;
    const next = this.photos[(this.index + 1) % this.photos.length];
    if (this.cache.has(next.id)) return;
    fetchImage(withSize(next.thumbnailUrl, "preview"))
      .then((url) => this.remember(next.id, url))
      .catch(() => {});
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
    this.download.click();
  }

  wireSwipe() {
    let start = null;
    this.stage.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse") return;
      start = { x: event.clientX, y: event.clientY, id: event.pointerId };
    });
    const finish = (event) => {
      if (!start || event.pointerId !== start.id) return;
      const dx = event.clientX - start.x;
      const dy = event.clientY - start.y;
      start = null;
      if (Math.abs(dx) >= SWIPE_MIN_PX && Math.abs(dx) > Math.abs(dy) * 1.5) {
        this.step(dx < 0 ? 1 : -1);
      }
    };
    this.stage.addEventListener("pointerup", finish);
    this.stage.addEventListener("pointercancel", () => {
      start = null;
    });
  }
}
