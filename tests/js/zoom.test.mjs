// zoom.js: the geometry of zooming and panning an image in its frame.
import assert from "node:assert/strict";
import { test } from "node:test";

import { IDENTITY, MAX_SCALE, clampView, isZoomed, toggleZoom, zoomAbout } from "../../static/js/zoom.js";

const FRAME = { width: 800, height: 600 };
const IMAGE = { width: 800, height: 600 };

test("zooming about a point keeps that spot under it", () => {
  const point = { x: 200, y: -100 };
  const view = zoomAbout(IDENTITY, 2, point, IMAGE, FRAME);
  assert.equal(view.scale, 2);
  // The image spot under the point, (point - translate) / scale, is the same before and after.
  assert.deepEqual({ x: (point.x - view.x) / view.scale, y: (point.y - view.y) / view.scale }, { x: 200, y: -100 });
});

test("the scale stays between the whole image and the maximum", () => {
  assert.deepEqual(zoomAbout(IDENTITY, 0.5, { x: 10, y: 10 }, IMAGE, FRAME), IDENTITY);
  assert.equal(zoomAbout(IDENTITY, 100, { x: 0, y: 0 }, IMAGE, FRAME).scale, MAX_SCALE);
});

test("panning stops at the image's edges, and a narrow image stays centred", () => {
  assert.deepEqual(clampView({ scale: 2, x: 1000, y: -1000 }, IMAGE, FRAME), { scale: 2, x: 400, y: -300 });
  const portrait = { width: 300, height: 600 };
  assert.equal(clampView({ scale: 2, x: 500, y: 0 }, portrait, FRAME).x, 0, "600px wide at 2x fits the 800px frame");
});

test("double click zooms in about the point, and again back out", () => {
  const zoomed = toggleZoom(IDENTITY, { x: 100, y: 50 }, IMAGE, FRAME);
  assert.ok(isZoomed(zoomed));
  assert.equal(zoomed.scale, 2.5);
  assert.deepEqual(toggleZoom(zoomed, { x: 0, y: 0 }, IMAGE, FRAME), IDENTITY);
});
