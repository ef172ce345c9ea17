// Building and finding elements: the one place pages and components get their DOM helpers.

/**
 * A new element: el("p", { class: "hint", id: "x" }, "text", otherNode).
 * Attributes that are null, undefined or false are left off; true sets an empty one.
 * Strings become text, never markup. (No "style": the Content-Security-Policy refuses it.)
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/**
 * Look elements up by id once: elementsById(["date-from"]) gives {dateFrom}.
 * With a prefix, names leave it off: elementsById(["title"], dialog, "viewer-") finds #viewer-title.
 */
export function elementsById(names, root = document, prefix = "") {
  const found = {};
  for (const name of names) {
    const key = name.replace(/-(\w)/g, (_, letter) => letter.toUpperCase());
    found[key] = root.querySelector(`#${prefix}${name}`);
  }
  return found;
}
