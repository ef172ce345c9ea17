// The timeline strip under the map: the photos grouped by day, oldest first.
import { authImage, withSize } from "./api.js";
import { dayKey, formatDayLong, formatTaken, parseDay } from "./dates.js";

const PER_DAY = 12;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hasPlace(photo) {
  return typeof photo.latitude === "number" && typeof photo.longitude === "number";
}

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
    if (message) this.strip.append(el("p", "timeline-empty", message));
  }

  render(photos) {
    this.clear();
    this.days = groupByDay(photos);
    const fragment = document.createDocumentFragment();
    for (const [key, dayPhotos] of this.days) {
      const section = el("section", "day");
      section.dataset.day = key;
      section.dataset.count = String(dayPhotos.length);
      const head = el("h3", "day-head");
      const date = parseDay(key);
      const title = el("button", "day-button", date ? formatDayLong(date) : "Date unknown");
      title.type = "button";
      title.dataset.action = "focus-day";
      title.title = "Show this day on the map";
      head.append(title, el("span", "day-count", String(dayPhotos.length)));
      const list = el("ul", "day-photos is-pending");
      const tiles = Math.min(dayPhotos.length, PER_DAY + 1);
      list.style.setProperty("--tiles", String(tiles));
      section.append(head, list);
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
    dayPhotos.slice(0, PER_DAY).forEach((photo, index) => {
      const item = el("li");
      const button = el("button", "thumb");
      button.type = "button";
      button.dataset.index = String(index);
      button.dataset.photoId = photo.id;
      const name = photo.originalFileName || "Photo";
      button.setAttribute("aria-label", `${name}, ${formatTaken(photo.takenAt)}`);
      button.title = hasPlace(photo) ? name : `${name} (no location)`;
      if (!hasPlace(photo)) button.classList.add("thumb--no-place");
      button.append(authImage(withSize(photo.thumbnailUrl, "thumbnail")));
      item.append(button);
      list.append(item);
    });
    if (dayPhotos.length > PER_DAY) {
      const rest = dayPhotos.length - PER_DAY;
      const item = el("li");
      const more = el("button", "thumb thumb--more", `+${rest}`);
      more.type = "button";
      more.dataset.index = String(PER_DAY);
      more.setAttribute("aria-label", `${rest} more photos of this day`);
      item.append(more);
      list.append(item);
    }
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
