// The side panel's photo grid: every photo of a cluster or a view, grouped by day, newest
// or oldest first, fetched a page at a time as it scrolls. Only the rows in sight (and a
// screen either side) are in the DOM, so ten thousand photos scroll like ten.
import { dayKey, formatDayLong, formatTaken, parseDay } from "./dates.js";
import { el, elementsById } from "./dom.js";
import { photoName } from "./photos.js";
import { thumbnailSlot } from "./thumbnail.js";

export const PAGE_SIZE = 200;
const HEAD_HEIGHT = 36;
const MIN_TILE = 96;
const GAP = 4;

/**
 * Rows for the photos loaded so far, given each one's day ("YYYY-MM-DD", from dayKey):
 * a day's heading, then its photos `columns` a row;
 * `rest` photos not yet loaded follow as rows of their own. Each row is
 * {kind: "day"|"photos"|"pending", top, height, key, day?, first?, count?}.
 */
export function layoutRows(days, rest, columns, tile) {
  const rows = [];
  let top = 0;
  const push = (row) => {
    row.top = top;
    rows.push(row);
    top += row.height;
  };
  let day = null;
  let i = 0;
  while (i < days.length) {
    if (days[i] !== day) {
      day = days[i];
      push({ kind: "day", height: HEAD_HEIGHT, key: `d${i}`, day });
    }
    let count = 0;
    while (count < columns && i + count < days.length && days[i + count] === day) count += 1;
    // The count is in the key: a day's last row fills up as the next page arrives.
    push({ kind: "photos", height: tile + GAP, key: `p${i}:${count}`, first: i, count });
    i += count;
  }
  for (let pending = 0; pending < Math.ceil(rest / columns); pending += 1) {
    push({ kind: "pending", height: tile + GAP, key: `r${pending}` });
  }
  return { rows, height: top };
}

/** Index of the first row whose bottom is below `y` (rows sorted by top). */
export function firstRowBelow(rows, y) {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (rows[mid].top + rows[mid].height <= y) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class PhotoGrid {
  /** options: loadPage({offset, limit, order, signal}) → {photos, totalCount}, onOpen(photos, index, focusTarget), onClose() */
  constructor(panel, options) {
    this.panel = panel;
    this.options = options;
    this.ui = elementsById(["title", "count", "order", "close", "scroll", "sizer"], panel, "grid-");
    this.photos = [];
    this.days = []; // each loaded photo's day, worked out once
    this.total = 0;
    this.order = "desc";
    this.rowElements = new Map();
    this.layout = { rows: [], height: 0 };
    this.loading = null;
    this.controller = null;
    this.frame = 0;
    this.returnFocusTo = null;

    this.ui.scroll.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.ui.order.addEventListener("click", () => this.setOrder(this.order === "desc" ? "asc" : "desc"));
    this.ui.close.addEventListener("click", () => this.close());
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) this.close();
    });
    this.ui.scroll.addEventListener("click", (event) => {
      const thumb = event.target.closest(".thumb");
      if (thumb) this.options.onOpen(this.photos, Number(thumb.dataset.index), thumb);
    });
    new ResizeObserver(() => this.relayout()).observe(this.ui.scroll);
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  /** Show the photos of a cluster or view: {title, total}; the first page loads at once. */
  open({ title, total }, returnFocusTo = document.activeElement) {
    this.title = title;
    this.returnFocusTo = returnFocusTo instanceof HTMLElement ? returnFocusTo : null;
    this.panel.hidden = false;
    this.ui.title.textContent = title;
    this.reset(total);
    this.ui.close.focus();
    return this.loadMore();
  }

  close() {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    if (this.controller) this.controller.abort();
    this.reset(0);
    this.options.onClose?.();
    if (this.returnFocusTo && this.returnFocusTo.isConnected) this.returnFocusTo.focus();
  }

  setOrder(order) {
    this.order = order;
    this.ui.order.textContent = order === "desc" ? "Newest first" : "Oldest first";
    this.reset(this.total);
    this.ui.scroll.scrollTop = 0;
    this.loadMore();
  }

  reset(total) {
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    this.loading = null;
    this.photos = [];
    this.days = [];
    this.total = total;
    for (const element of this.rowElements.values()) element.remove();
    this.rowElements = new Map();
    this.ui.count.textContent = `${total.toLocaleString("en")} ${total === 1 ? "photo" : "photos"}`;
    this.relayout();
  }

  /** The next page; pages load one after another, each one rendering as it lands. */
  loadMore() {
    if (this.loading || this.photos.length >= this.total) return this.loading || Promise.resolve();
    const { signal } = this.controller;
    this.loading = this.options
      .loadPage({ offset: this.photos.length, limit: PAGE_SIZE, order: this.order, signal })
      .then(({ photos, totalCount }) => {
        if (signal.aborted) return;
        this.photos = this.photos.concat(photos);
        this.days = this.days.concat(photos.map((photo) => dayKey(photo.takenAt)));
        // The count from the server is exact; a page short of it ends the list.
        this.total = photos.length ? totalCount : this.photos.length;
        this.ui.count.textContent = `${this.total.toLocaleString("en")} ${this.total === 1 ? "photo" : "photos"}`;
        this.loading = null;
        this.relayout();
      })
      .catch((error) => {
        if (!signal.aborted) this.loading = null;
        if (error.name !== "AbortError") this.ui.count.textContent = "These photos could not be loaded.";
      });
    return this.loading;
  }

  relayout() {
    const width = this.ui.scroll.clientWidth;
    if (!width) return;
    const columns = Math.max(2, Math.floor((width + GAP) / (MIN_TILE + GAP)));
    const tile = Math.floor((width - GAP * (columns - 1)) / columns);
    if (columns !== this.columns || tile !== this.tile) {
      for (const element of this.rowElements.values()) element.remove();
      this.rowElements = new Map();
    }
    this.columns = columns;
    this.tile = tile;
    this.layout = layoutRows(this.days, this.total - this.photos.length, columns, tile);
    this.ui.sizer.style.height = `${this.layout.height}px`;
    this.render();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Put the rows near the scrolled-to part in the DOM and take the others out. */
  render() {
    const scroll = this.ui.scroll;
    const { rows } = this.layout;
    const margin = scroll.clientHeight;
    const top = scroll.scrollTop - margin;
    const bottom = scroll.scrollTop + scroll.clientHeight + margin;
    const wanted = new Set();
    let needsMore = false;
    for (let i = firstRowBelow(rows, top); i < rows.length && rows[i].top < bottom; i += 1) {
      const row = rows[i];
      if (row.kind === "pending") {
        needsMore = true;
        continue;
      }
      wanted.add(row.key);
      if (!this.rowElements.has(row.key)) {
        const element = this.buildRow(row);
        this.rowElements.set(row.key, element);
        this.ui.sizer.append(element);
      }
    }
    for (const [key, element] of this.rowElements) {
      if (!wanted.has(key)) {
        element.remove();
        this.rowElements.delete(key);
      }
    }
    if (needsMore) this.loadMore();
  }

  buildRow(row) {
    let element;
    if (row.kind === "day") {
      const date = parseDay(row.day);
      element = el("h3", { class: "grid-day" }, date ? formatDayLong(date) : "Date unknown");
    } else {
      element = el("div", { class: "grid-row" });
      for (let i = row.first; i < row.first + row.count; i += 1) element.append(this.tileFor(i));
      element.style.setProperty("--tile", `${this.tile}px`);
    }
    element.style.transform = `translateY(${row.top}px)`;
    element.style.height = `${row.height}px`;
    return element;
  }

  tileFor(index) {
    const photo = this.photos[index];
    const button = el(
      "button",
      {
        class: "thumb grid-thumb",
        type: "button",
        "data-index": index,
        "data-photo-id": photo.id,
        "aria-label": `${photoName(photo)}, ${formatTaken(photo.takenAt)}`,
      },
      thumbnailSlot(photo),
    );
    return button;
  }
}
