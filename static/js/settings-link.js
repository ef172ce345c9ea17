// A way to Settings from any page that shows an Immich error: the map links there when a
// failure is something the user's own settings can fix.
export const SETTINGS_PATH = "/settings";

/** An <a> to the settings page, styled as a button. */
export function settingsLink({ text = "Open Settings", primary = true } = {}) {
  const link = document.createElement("a");
  link.className = primary ? "button button--primary" : "button";
  link.href = SETTINGS_PATH;
  link.textContent = text;
  return link;
}

/**
 * Whether changing the settings may fix an API error: Immich not set up or switched off
 * (409), rejected the key or could not be reached (502), or did not answer (504).
 */
export function settingsMayFix(error) {
  return Boolean(error) && [409, 502, 504].includes(error.status);
}
