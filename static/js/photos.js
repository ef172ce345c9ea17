// The photo object of the search API, as the pages read it (DESIGN.md, "Photo object").

/** Whether the photo has a place on the map (0 is a real latitude; null is none). */
export function hasCoordinates(photo) {
  return typeof photo.latitude === "number" && typeof photo.longitude === "number";
}

export function photoName(photo) {
  return photo.originalFileName || "Photo";
}

/** "48.85660, 2.35220", a place estimated from the tracks with its accuracy, or a sentence
 * when the photo has no place. */
export function formatCoordinates(photo) {
  const guess = photo.estimatedLocation;
  if (guess && !hasCoordinates(photo)) {
    return `${guess.latitude.toFixed(5)}, ${guess.longitude.toFixed(5)} (estimated ±${guess.accuracyMeters} m)`;
  }
  if (!hasCoordinates(photo)) return "No location recorded";
  return `${photo.latitude.toFixed(5)}, ${photo.longitude.toFixed(5)}`;
}
