// The time scrubber: photo counts over time as bars on a <canvas>; drag across them to
// choose part of the range, click one to choose it alone, play to step through time.
// It takes its element and callbacks and never reaches the map or the API itself.
import { formatDay } from "./dates.js";
import { el } from "./dom.js";

const PLAY_STEP_MS = 800;
const UNIT_DAYS = { day: 1, week: 7, month: 31 };

/** The instant after a bin: the next bin's start, or one unit on for the last. */
export function binEnd(bins, index, unit) {
  if (index + 1 < bins.length) return new Date(bins[index + 1].start);
  const start = new Date(bins[index].start);
  if (unit === "month") return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  return new Date(start.getTime() + UNIT_DAYS[unit] * 86_400_000);
}

/** The bins from the first with photos to the last (all of them when none has any). */
export function trimmed(bins) {
  const first = bins.findIndex((bin) => bin.count > 0);
  if (first < 0) return bins;
  let last = bins.length - 1;
  while (bins[last].count === 0) last -= 1;
  return bins.slice(first, last + 1);
}

/** The span of bins a..b (either order), as {start, end} Dates (end just before the next bin). */
export function spanOf(bins, a, b, unit) {
  const low = Math.min(a, b);
  const high = Math.max(a, b);
  return { start: new Date(bins[low].start), end: new Date(binEnd(bins, high, unit).getTime() - 1000) };
}

export class Scrubber {
  /** options: onSelect(span|null, final), onHoverBin({start, end}|null) */
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.bins = [];
    this.unit = "day";
    this.selection = null; // [first, last] bin indices
    this.marked = new Set(); // bin indices to outline (the hovered marker's days)
    this.hover = -1;
    this.drag = null;
    this.playTimer = 0;

    this.canvas = el("canvas", { class: "scrubber-bars", role: "img", "aria-label": "Photos over time" });
    this.play = el("button", { class: "icon-button scrubber-play", type: "button", "aria-label": "Play through time", "aria-pressed": "false" }, "▶");
    this.reset = el("button", { class: "button button--quiet scrubber-reset", type: "button", hidden: true }, "Whole range");
    this.label = el("p", { class: "scrubber-label", "aria-live": "polite" });
    root.replaceChildren(el("div", { class: "scrubber-controls" }, this.play, this.label, this.reset), this.canvas);

    this.canvas.addEventListener("pointerdown", (event) => this.onDown(event));
    this.canvas.addEventListener("pointermove", (event) => this.onMove(event));
    this.canvas.addEventListener("pointerup", (event) => this.onUp(event));
    this.canvas.addEventListener("pointercancel", () => (this.drag = null));
    this.canvas.addEventListener("pointerleave", () => this.setHover(-1));
    this.play.addEventListener("click", () => (this.playTimer ? this.stop() : this.start()));
    this.reset.addEventListener("click", () => this.choose(null, true));
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  /** New bars: {unit, bins}; a selection that no longer fits is dropped. */
  setBins({ unit, bins }) {
    this.unit = unit;
    this.bins = trimmed(bins);
    if (this.selection && this.selection[1] >= this.bins.length) this.selection = null;
    this.marked = new Set();
    this.canvas.setAttribute("aria-label", this.describe());
    this.renderLabel();
    this.draw();
  }

  describe() {
    const total = this.bins.reduce((sum, bin) => sum + bin.count, 0);
    if (!this.bins.length) return "No photos over time";
    const span = spanOf(this.bins, 0, this.bins.length - 1, this.unit);
    return `${total.toLocaleString("en")} photos from ${formatDay(span.start)} to ${formatDay(span.end)}, by ${this.unit}`;
  }

  /** Outline the bars holding these instants (a marker's days); null clears. */
  mark(dates) {
    this.marked = new Set();
    for (const date of dates || []) {
      const index = this.indexOfDate(date);
      if (index >= 0) this.marked.add(index);
    }
    this.draw();
  }

  indexOfDate(date) {
    const time = date.getTime();
    for (let i = this.bins.length - 1; i >= 0; i -= 1) {
      if (new Date(this.bins[i].start).getTime() <= time) return time < binEnd(this.bins, i, this.unit) ? i : -1;
    }
    return -1;
  }

  indexAt(event) {
    const box = this.canvas.getBoundingClientRect();
    const x = (event.clientX - box.left) / Math.max(1, box.width);
    return Math.max(0, Math.min(this.bins.length - 1, Math.floor(x * this.bins.length)));
  }

  onDown(event) {
    if (!this.bins.length) return;
    this.stop();
    this.canvas.setPointerCapture(event.pointerId);
    const index = this.indexAt(event);
    this.drag = { from: index, to: index };
  }

  onMove(event) {
    if (!this.bins.length) return;
    const index = this.indexAt(event);
    if (!this.drag) {
      this.setHover(index);
      return;
    }
    if (index === this.drag.to) return;
    this.drag.to = index;
    this.choose([this.drag.from, index], false);
  }

  onUp(event) {
    if (!this.drag) return;
    this.drag.to = this.indexAt(event);
    this.choose([this.drag.from, this.drag.to], true);
    this.drag = null;
  }

  setHover(index) {
    if (index === this.hover) return;
    this.hover = index;
    this.draw();
    const bin = index >= 0 ? spanOf(this.bins, index, index, this.unit) : null;
    this.options.onHoverBin(bin);
  }

  /** Choose bins [a, b] (or null for all); final when the drag ended. */
  choose(pair, final) {
    this.selection = pair ? [Math.min(...pair), Math.max(...pair)] : null;
    this.renderLabel();
    this.draw();
    this.options.onSelect(pair ? spanOf(this.bins, pair[0], pair[1], this.unit) : null, final);
  }

  renderLabel() {
    this.reset.hidden = !this.selection;
    if (!this.bins.length) {
      this.label.textContent = "";
      return;
    }
    const [a, b] = this.selection || [0, this.bins.length - 1];
    const span = spanOf(this.bins, a, b, this.unit);
    const count = this.bins.slice(a, b + 1).reduce((sum, bin) => sum + bin.count, 0);
    this.label.textContent = `${formatDay(span.start)} – ${formatDay(span.end)} · ${count.toLocaleString("en")} photos`;
  }

  start() {
    if (!this.bins.length) return;
    const width = Math.max(1, Math.round(this.bins.length / 12));
    let first = this.selection && this.selection[1] < this.bins.length - 1 ? this.selection[0] : 0;
    this.play.setAttribute("aria-pressed", "true");
    this.play.setAttribute("aria-label", "Pause");
    this.play.textContent = "❚❚";
    const step = () => {
      if (first >= this.bins.length) {
        this.stop();
        return;
      }
      this.choose([first, Math.min(first + width - 1, this.bins.length - 1)], true);
      first += width;
      this.playTimer = window.setTimeout(step, PLAY_STEP_MS);
    };
    step();
  }

  stop() {
    window.clearTimeout(this.playTimer);
    this.playTimer = 0;
    this.play.setAttribute("aria-pressed", "false");
    this.play.setAttribute("aria-label", "Play through time");
    this.play.textContent = "▶";
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (!width || !height) return;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const style = getComputedStyle(this.root);
    const colour = (name) => style.getPropertyValue(name).trim();
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    const bins = this.bins;
    if (!bins.length) return;
    const most = Math.max(1, ...bins.map((bin) => bin.count));
    const step = width / bins.length;
    const gap = step > 4 ? Math.max(1, step * 0.15) : 0;
    const chosen = (i) => !this.selection || (i >= this.selection[0] && i <= this.selection[1]);
    for (let i = 0; i < bins.length; i += 1) {
      const count = bins[i].count;
      if (!count) continue;
      // A square-root scale, so a quiet month still shows beside a holiday.
      const barHeight = Math.max(2 * ratio, (Math.sqrt(count) / Math.sqrt(most)) * (height - 2 * ratio));
      const highlighted = this.marked.has(i) || i === this.hover;
      context.fillStyle = highlighted ? colour("--highlight") : chosen(i) ? colour("--accent") : colour("--line");
      context.fillRect(i * step + gap / 2, height - barHeight, Math.max(1, step - gap), barHeight);
    }
  }
}
