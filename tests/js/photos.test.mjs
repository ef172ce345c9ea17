// photos.js: what the pages read from a photo of the search API.
import assert from "node:assert/strict";
import { test } from "node:test";

import { formatCoordinates, hasCoordinates, photoName } from "../../static/js/photos.js";

test("a photo has a place when both coordinates are numbers, zero included", () => {
  assert.equal(hasCoordinates({ latitude: 0, longitude: 0 }), true);
  assert.equal(hasCoordinates({ latitude: 48.8566, longitude: 2.3522 }), true);
  assert.equal(hasCoordinates({ latitude: null, longitude: null }), false);
  assert.equal(hasCoordinates({ latitude: 48.8566, longitude: null }), false);
  assert.equal(hasCoordinates({ latitude: "48.8", longitude: "2.3" }), false);
  assert.equal(hasCoordinates({}), false);
});

test("coordinates are shown to five decimals, or said to be missing", () => {
  assert.equal(formatCoordinates({ latitude: 48.8566, longitude: -2.35 }), "48.85660, -2.35000");
  assert.equal(formatCoordinates({ latitude: null, longitude: null }), "No location recorded");
});

test("a photo without a file name is called Photo", () => {
  assert.equal(photoName({ originalFileName: "IMG_0001.jpg" }), "IMG_0001.jpg");
  assert.equal(photoName({ originalFileName: "" }), "Photo");
  assert.equal(photoName({}), "Photo");
});
