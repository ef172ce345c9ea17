// Shared by the signed-in pages: who is signed in, and the header's sign-out button.
import { getJson, signOut } from "./api.js";

export function readPageConfig() {
  const element = document.getElementById("page-config");
  try {
    return JSON.parse(element ? element.textContent : "{}") || {};
  } catch {
    return {};
  }
}

/** Resolve with the signed-in user; a visitor who is not signed in is sent to /login. */
export async function requireUser() {
  const user = await getJson("/api/users/me");
  const label = document.getElementById("user-name");
  if (label) {
    label.textContent = user.name || user.email;
    label.title = user.email;
    label.hidden = false;
  }
  return user;
}

export function wireSignOut() {
  const button = document.getElementById("sign-out");
  if (!button) return;
  button.addEventListener("click", () => {
    button.disabled = true;
    signOut();
  });
}
