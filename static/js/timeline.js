// The timeline strip under the map: the photos grouped by day, oldest first.
import { dayKey, formatDayLong, formatTaken, parseDay } from "./dates.js";
import { el } from "./dom.js";
import { hasCoordinates, photoName } from "./photos.js";
import { thumbnailSlot } from "./thumbnail.js";

const PER_DAY = 12;

export function groupByDay(photos) {
  const days = new Map();
  for (const photo of photos) {
    const key = dayKey(photo.takenAt);
    if (!days.has(key)) days.set(key, []);
    days.get(key).push(photo);
  }
  // Photos without a date go last.
  if (days.has("")) {
    const undated = days.get("");
    days.delete("");
    days.set("", undated);
  }
  return days;
}

/** A day's heading and an empty list, as wide as its thumbnails will be. */
function daySection(key, count) {
  const date = parseDay(key);
  const title = el(
    "button",
    { class: "day-button", type: "button", "data-action": "focus-day", title: "Show this day on the map" },
    date ? formatDayLong(date) : "Date unknown",
  );
  const list = el("ul", { class: "day-photos is-pending" });
  list.style.setProperty("--tiles", String(Math.min(count, PER_DAY + 1)));
  const head = el("h3", { class: "day-head" }, title, el("span", { class: "day-count" }, String(count)));
  return el("section", { class: "day", "data-day": key, "data-count": count }, head, list);
}

/** A photo's tile; a photo without a place is marked, as it is not on the map. */
function thumbButton(photo, index) {
  const name = photoName(photo);
  const placed = hasCoordinates(photo);
  return el(
    "button",
    {
      class: placed ? "thumb" : "thumb thumb--no-place",
      type: "button",
      "data-index": index,
      "data-photo-id": photo.id,
      // The badge is drawn by CSS, so its words go in the name too.
      "aria-label": `${name}, ${formatTaken(photo.takenAt)}${placed ? "" : ", no location"}`,
      title: placed ? name : `${name} (no location)`,
    },
    thumbnailSlot(photo),
  );
}

/** The tile after a day's first PER_DAY photos; it opens the viewer at the next one. */
function moreButton(rest) {
  const label = `${rest} more photos of this day`;
  return el("button", { class: "thumb thumb--more", type: "button", "data-index": PER_DAY, "aria-label": label }, `+${rest}`);
}

export class Timeline {
  /** options: onOpen(photos, index, focusTarget), onHighlight(photos|null), onFocusDay(photos) */
  constructor(strip, options) {
    this.strip = strip;
    this.options = options;
    this.days = new Map();
    // A day's thumbnails are built only when it scrolls near the visible part of the strip,
    // so a year of photos costs a few hundred elements, not thousands.
    this.observer = new IntersectionObserver((entries) => this.onVisible(entries), {
      root: strip,
      rootMargin: "0px 1200px",
    });
    strip.addEventListener("click", (event) => this.onClick(event));
    strip.addEventListener("mouseover", (event) => this.onOver(event));
    strip.addEventListener("mouseleave", () => this.setActiveDay(null));
    strip.addEventListener("focusin", (event) => this.onOver(event));
    strip.addEventListener("focusout", (event) => {
      if (!strip.contains(event.relatedTarget)) this.setActiveDay(null);
    });
  }

  clear(message = "") {
    this.observer.disconnect();
    this.days = new Map();
    this.activeDay = null;
    this.strip.replaceChildren();
    if (message) this.strip.append(el("p", { class: "timeline-empty" }, message));
  }

  render(photos) {
    this.clear();
    this.days = groupByDay(photos);
    const fragment = document.createDocumentFragment();
    for (const [key, dayPhotos] of this.days) {
      const section = daySection(key, dayPhotos.length);
      fragment.append(section);
      this.observer.observe(section);
    }
    this.strip.append(fragment);
    this.strip.scrollLeft = 0;
  }

  onVisible(entries) {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      this.observer.unobserve(entry.target);
      this.fillDay(entry.target);
    }
  }

  /** Build the thumbnails of one day (the first PER_DAY, then a "+N" tile). */
  fillDay(section) {
    const dayPhotos = this.days.get(section.dataset.day) || [];
    const list = section.querySelector(".day-photos");
    if (!list.classList.contains("is-pending")) return;
    list.classList.remove("is-pending");
    const tiles = dayPhotos.slice(0, PER_DAY).map((photo, index) => el("li", {}, thumbButton(photo, index)));
    if (dayPhotos.length > PER_DAY) tiles.push(el("li", {}, moreButton(dayPhotos.length - PER_DAY)));
    list.append(...tiles);
  }

  dayOf(target) {
    const section = target instanceof Element ? target.closest(".day") : null;
    return section ? { section, photos: this.days.get(section.dataset.day) || [] } : null;
  }

  onClick(event) {
    const day = this.dayOf(event.target);
    if (!day) return;
    const thumb = event.target.closest(".thumb");
    if (thumb) {
      this.options.onOpen(day.photos, Number(thumb.dataset.index), thumb);
    } else if (event.target.closest("[data-action=focus-day]")) {
      this.options.onFocusDay(day.photos);
    }
  }

  onOver(event) {
    const day = this.dayOf(event.target);
    this.setActiveDay(day ? day.section : null);
  }

  setActiveDay(section) {
    if (section === this.activeDay) return;
    if (this.activeDay) this.activeDay.classList.remove("is-active");
    this.activeDay = section;
    if (section) {
      section.classList.add("is-active");
      this.options.onHighlight(this.days.get(section.dataset.day) || []);
    } else {
      this.options.onHighlight(null);
    }
  }
}
