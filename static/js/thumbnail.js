// A photo's thumbnail slot: its thumbhash placeholder at once, the image over it when it arrives.
import { authImage, withSize } from "./api.js";
import { el } from "./dom.js";
import { placeholder } from "./thumbhash.js";

/** <span class="thumb-slot"> holding the placeholder canvas and the lazily loaded <img>. */
export function thumbnailSlot(photo, { className = "" } = {}) {
  const image = authImage(withSize(photo.thumbnailUrl, "thumbnail"));
  const slot = el("span", { class: `thumb-slot ${className}`.trim() }, placeholder(photo.thumbhash), image);
  const loaded = () => slot.classList.add("is-loaded");
  if (image.complete && image.naturalWidth) loaded();
  image.addEventListener("load", loaded);
  return slot;
}
