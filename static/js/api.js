// The one way pages talk to the JSON API: cookies for auth, the CSRF double-submit
// header on state changes, one refresh-and-retry on a 401, the envelope unwrapped.

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const REFRESH_PATH = "/api/auth/refresh";

/**
 * What went wrong: the HTTP status (0 when the app could not be reached), the envelope's
 * human message, and its machine-readable code when it has one (e.g. "immich_disabled").
 */
export class ApiError extends Error {
  constructor(status, message, code = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

async function parseEnvelope(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && typeof body === "object" && "success" in body) {
    if (body.success) return body.data;
    throw new ApiError(response.status, body.error || "Something went wrong", body.code ?? null);
  }
  if (response.ok) return body;
  throw new ApiError(response.status, `The server answered ${response.status}`);
}

async function send(method, path, body, signal, csrfCookie = "csrf_access_token") {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal };
  if (UNSAFE_METHODS.has(method)) {
    const token = readCookie(csrfCookie);
    if (token) headers["X-CSRF-TOKEN"] = token;
  }
  if (body instanceof FormData) {
    init.body = body; // multipart: the browser sets the type with its boundary
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "Photo Atlas could not be reached. Check your connection.");
  }
}

let refreshing = null;
// Bumped on each successful refresh, so a failed <img> knows whether a retry can help.
let sessionGeneration = 0;

// One refresh at a time, however many requests saw a 401 together.
function refreshSession() {
  if (!refreshing) {
    refreshing = (async () => {
      if (!readCookie("csrf_refresh_token")) return false;
      const response = await send("POST", REFRESH_PATH, undefined, undefined, "csrf_refresh_token");
      if (response.ok) sessionGeneration += 1;
      return response.ok;
    })()
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

// A page without an account (a shared trip): no session to check, refresh or sign in to.
let anonymous = false;

export function withoutSession() {
  anonymous = true;
}

export function goToLogin({ expired = false } = {}) {
  if (anonymous) return;
  const params = new URLSearchParams();
  if (expired) params.set("expired", "1");
  const here = location.pathname + location.search;
  if (here !== "/" && !location.pathname.startsWith("/login")) params.set("next", here);
  const query = params.toString();
  location.assign(`/login${query ? `?${query}` : ""}`);
}

let lastConfirmed = 0;

/**
 * Call the API and return the envelope's data, or throw ApiError.
 * A 401 is retried once after a refresh; if that fails the page goes to the sign-in form.
 * Sign-in and sign-up pass refresh: false, so a wrong password is never sent twice.
 */
export async function api(
  method,
  path,
  { body, signal, redirectOnAuthFailure = true, refresh = true } = {},
) {
  let response = await send(method, path, body, signal);
  if (response.status === 401 && refresh) {
    const hadSession = Boolean(readCookie("csrf_refresh_token") || readCookie("csrf_access_token"));
    if (await refreshSession()) {
      response = await send(method, path, body, signal);
    }
    if (response.status === 401) {
      if (redirectOnAuthFailure) {
        goToLogin({ expired: hadSession });
        // The page is leaving; keep callers from drawing an error meanwhile.
        return new Promise(() => {});
      }
    }
  }
  const data = await parseEnvelope(response);
  lastConfirmed = Date.now();
  return data;
}

export const getJson = (path, options) => api("GET", path, options);
export const postJson = (path, body, options) => api("POST", path, { ...options, body });
export const putJson = (path, body, options) => api("PUT", path, { ...options, body });
export const patchJson = (path, body, options) => api("PATCH", path, { ...options, body });
export const deleteJson = (path, options) => api("DELETE", path, options);
/** A multipart upload (a FormData body), answered in the envelope like the rest. */
export const postForm = (path, form, options) => api("POST", path, { ...options, body: form });

let confirming = null;

/**
 * Make sure the access cookie is still good before the browser itself fetches an
 * authenticated URL (an <img> or a download), refreshing it when it has expired.
 */
export function ensureSession({ force = false } = {}) {
  if (anonymous) return Promise.resolve();
  const age = Date.now() - lastConfirmed;
  if (age < (force ? 5_000 : 60_000)) return Promise.resolve();
  if (!confirming) {
    confirming = getJson("/api/users/me").finally(() => {
      confirming = null;
    });
  }
  return confirming;
}

/**
 * Load an authenticated image into a blob: URL. Rejects with ApiError (status 0 when
 * the app could not be reached); a 401 is retried once after a refresh.
 */
export async function fetchImage(url, { signal } = {}) {
  const response = await fetchFile(url, signal);
  const blob = await response.blob();
  if (!blob.type.startsWith("image/")) throw new ApiError(response.status, "Not an image");
  return URL.createObjectURL(blob);
}

/** An authenticated GET of a file: the OK response, or ApiError; a 401 refreshes once. */
async function fetchFile(url, signal) {
  let response = await send("GET", url, undefined, signal);
  if (response.status === 401 && (await refreshSession())) {
    response = await send("GET", url, undefined, signal);
  }
  if (response.status === 401) {
    goToLogin({ expired: true });
    return new Promise(() => {});
  }
  if (!response.ok) await parseEnvelope(response);
  return response;
}

/**
 * Load an authenticated file (e.g. an original, which the app sends as an attachment) into a
 * Blob, telling onProgress(loadedBytes, totalBytes or null) as it arrives.
 */
export async function fetchBlob(url, { signal, onProgress = () => {} } = {}) {
  const response = await fetchFile(url, signal);
  const total = Number(response.headers.get("Content-Length")) || null;
  const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
  if (!response.body) return response.blob();
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  onProgress(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress(loaded, total);
  }
  return new Blob(chunks, { type });
}

// A thumbnail that fails for another reason (Immich down for a moment) is tried again later.
const IMAGE_RETRY_DELAYS_MS = [2_000, 5_000, 15_000];

/**
 * An <img> for an app-proxied thumbnail, loaded lazily. If it fails because the access
 * cookie expired, the session is refreshed and the image tried at once; any other failure
 * is tried again after a few seconds, a few times, before it shows as broken.
 */
export function authImage(src, { alt = "", className = "", lazy = true } = {}) {
  const img = document.createElement("img");
  img.alt = alt;
  img.decoding = "async";
  if (className) img.className = className;
  if (lazy) img.loading = "lazy";
  let generation = sessionGeneration;
  let attempt = 0;
  img.addEventListener("load", () => img.classList.remove("is-broken"));
  img.addEventListener("error", async () => {
    try {
      await ensureSession({ force: true });
    } catch {
      // The API error is shown elsewhere; the image still gets its later tries.
    }
    if (sessionGeneration !== generation) {
      generation = sessionGeneration;
      img.src = src;
      return;
    }
    img.classList.add("is-broken");
    const delay = IMAGE_RETRY_DELAYS_MS[attempt];
    if (delay === undefined) return;
    attempt += 1;
    window.setTimeout(() => {
      if (!img.isConnected) return;
      const again = new URL(src, location.origin);
      again.searchParams.set("attempt", String(attempt));
      img.src = again.pathname + again.search;
    }, delay);
  });
  img.src = src;
  return img;
}

/** A photo URL with ?size= set, kept relative to this app. */
export function withSize(url, size) {
  const full = new URL(url, location.origin);
  full.searchParams.set("size", size);
  return full.pathname + full.search;
}

export async function signOut() {
  try {
    // Through api(): an expired access token is refreshed first, so the session really ends.
    await api("POST", "/api/auth/logout", { redirectOnAuthFailure: false });
  } catch {
    // Signed out or not, the sign-in page comes next.
  } finally {
    location.assign("/login");
  }
}
