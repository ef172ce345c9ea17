// Imported first by the map page: an account without Immich settings goes to the welcome
// page before the map searches, rather than meeting a 409. When the server could read the
// session it has already checked (page config settingsChecked); otherwise this asks.
import { getJson } from "./api.js";
import { readPageConfig } from "./session.js";

export const WELCOME_PATH = "/welcome";

/** Resolve when the signed-in user has settings (or the check could not be made); leave
 *  for the welcome page, never resolving, when they have none. */
export async function leaveIfFirstRun() {
  let stored;
  try {
    stored = await getJson("/api/users/me/immich-config");
  } catch {
    return; // the map's own search reports what went wrong
  }
  if (stored) return;
  location.replace(WELCOME_PATH);
  await new Promise(() => {});
}

if (!readPageConfig().settingsChecked) await leaveIfFirstRun();
