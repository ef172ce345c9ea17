// Zooming and panning one image inside its frame: wheel, pinch, drag, double-click or
// double-tap, and keys. The view is {scale, x, y}: the image scaled about its centre, then
// moved by x, y pixels. The pure functions below hold the geometry; ImageZoom wires events.

export const MIN_SCALE = 1;
export const MAX_SCALE = 8;
export const TOGGLE_SCALE = 2.5;
export const IDENTITY = Object.freeze({ scale: 1, x: 0, y: 0 });

const DOUBLE_TAP_MS = 300;
const DOUBLE_TAP_PX = 30;
const WHEEL_STEP = 0.0015;

/**
 * Keep the image covering its frame: no empty margin is dragged into view, and an image
 * smaller than the frame stays centred. `size` is the image's unscaled {width, height},
 * `frame` the frame's.
 */
export function clampView(view, size, frame) {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale));
  const limit = (image, box) => Math.max(0, (image * scale - box) / 2);
  const clamp = (value, max) => Math.min(max, Math.max(-max, value)) || 0;
  return {
    scale,
    x: clamp(view.x, limit(size.width, frame.width)),
    y: clamp(view.y, limit(size.height, frame.height)),
  };
}

/**
 * The view scaled by `factor` about `point` ({x, y} from the frame's centre), so that the
 * spot under the point stays there.
 */
export function zoomAbout(view, factor, point, size, frame) {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
  const ratio = scale / view.scale;
  const moved = { scale, x: point.x - (point.x - view.x) * ratio, y: point.y - (point.y - view.y) * ratio };
  return clampView(moved, size, frame);
}

/** Double-click or double-tap: zoomed in about the point, or back to the whole image. */
export function toggleZoom(view, point, size, frame) {
  if (view.scale > MIN_SCALE) return IDENTITY;
  return zoomAbout(view, TOGGLE_SCALE / view.scale, point, size, frame);
}

export function isZoomed(view) {
  return view.scale > MIN_SCALE + 0.001;
}

const distance = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);
const middle = (a, b) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });

/**
 * The zoom of one <img> in a frame element. `onChange(view)` is told after each change.
 * While zoomed, one pointer pans; two pinch. `gestureUsed` tells a swipe handler that the
 * last touch was a zoom or a pan, not a swipe.
 */
export class ImageZoom {
  constructor(frame, image, { onChange = () => {} } = {}) {
    this.frame = frame;
    this.image = image;
    this.onChange = onChange;
    this.view = IDENTITY;
    this.pointers = new Map();
    this.gesture = null;
    this.lastTap = null;
    this.gestureUsed = false;

    frame.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    frame.addEventListener("dblclick", (event) => this.onDoubleClick(event));
    frame.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    frame.addEventListener("pointermove", (event) => this.onPointerMove(event));
    for (const type of ["pointerup", "pointercancel"]) {
      frame.addEventListener(type, (event) => this.onPointerUp(event));
    }
  }

  get zoomed() {
    return isZoomed(this.view);
  }

  reset() {
    this.pointers.clear();
    this.gesture = null;
    this.lastTap = null;
    this.apply(IDENTITY);
  }

  /** Zoom in (factor > 1) or out about the frame's centre, as the + and - keys do. */
  zoomBy(factor) {
    this.apply(zoomAbout(this.view, factor, { x: 0, y: 0 }, this.size(), this.frameSize()));
  }

  size() {
    return { width: this.image.offsetWidth, height: this.image.offsetHeight };
  }

  frameSize() {
    return { width: this.frame.clientWidth, height: this.frame.clientHeight };
  }

  /** A client point measured from the frame's centre. */
  point(event) {
    const box = this.frame.getBoundingClientRect();
    return { x: event.clientX - (box.left + box.width / 2), y: event.clientY - (box.top + box.height / 2) };
  }

  apply(view) {
    this.view = view;
    const { scale, x, y } = view;
    // Through the CSSOM, which the Content-Security-Policy allows (a style attribute it would not).
    this.image.style.transform = isZoomed(view) ? `translate(${x}px, ${y}px) scale(${scale})` : "";
    this.frame.classList.toggle("is-zoomed", isZoomed(view));
    this.onChange(view);
  }

  onWheel(event) {
    if (event.ctrlKey && event.deltaY === 0) return;
    event.preventDefault();
    const factor = Math.exp(-event.deltaY * WHEEL_STEP);
    this.apply(zoomAbout(this.view, factor, this.point(event), this.size(), this.frameSize()));
  }

  onDoubleClick(event) {
    // Touch has its own double tap (below); a mouse's double click toggles here.
    if (this.lastPointerType && this.lastPointerType !== "mouse") return;
    event.preventDefault();
    this.apply(toggleZoom(this.view, this.point(event), this.size(), this.frameSize()));
  }

  onPointerDown(event) {
    this.lastPointerType = event.pointerType;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    if (event.target.closest("button, a")) return;
    this.pointers.set(event.pointerId, this.point(event));
    if (this.pointers.size === 1) this.gestureUsed = this.zoomed;
    if (this.pointers.size === 2) this.gestureUsed = true;
    this.startGesture();
    if (this.zoomed || this.pointers.size > 1) {
      this.frame.setPointerCapture?.(event.pointerId);
    }
  }

  startGesture() {
    const [a, b] = [...this.pointers.values()];
    this.gesture = b
      ? { view: this.view, distance: distance(a, b) || 1, centre: middle(a, b) }
      : { view: this.view, start: a };
  }

  onPointerMove(event) {
    if (!this.pointers.has(event.pointerId)) return;
    this.pointers.set(event.pointerId, this.point(event));
    const [a, b] = [...this.pointers.values()];
    const { gesture } = this;
    if (b && gesture.distance) {
      // Pinch: scale by the fingers' spread about where they started, and follow their middle.
      const centre = middle(a, b);
      const pinched = zoomAbout(gesture.view, distance(a, b) / gesture.distance, gesture.centre, this.size(), this.frameSize());
      const moved = { ...pinched, x: pinched.x + centre.x - gesture.centre.x, y: pinched.y + centre.y - gesture.centre.y };
      this.apply(clampView(moved, this.size(), this.frameSize()));
    } else if (!b && gesture.start && isZoomed(gesture.view)) {
      const moved = { ...gesture.view, x: gesture.view.x + a.x - gesture.start.x, y: gesture.view.y + a.y - gesture.start.y };
      this.apply(clampView(moved, this.size(), this.frameSize()));
    }
  }

  onPointerUp(event) {
    if (!this.pointers.has(event.pointerId)) return;
    const at = this.pointers.get(event.pointerId);
    const several = this.pointers.size > 1;
    this.pointers.delete(event.pointerId);
    if (this.pointers.size) {
      this.startGesture();
      return;
    }
    this.gesture = null;
    if (event.type === "pointerup" && event.pointerType !== "mouse" && !several) this.onTap(at, event.timeStamp);
  }

  onTap(at, time) {
    const last = this.lastTap;
    if (last && time - last.time < DOUBLE_TAP_MS && distance(at, last.at) < DOUBLE_TAP_PX) {
      this.lastTap = null;
      this.gestureUsed = true;
      this.apply(toggleZoom(this.view, at, this.size(), this.frameSize()));
    } else {
      this.lastTap = { at, time };
    }
  }
}
