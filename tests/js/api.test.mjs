// api.js: the envelope's error, its status and its machine-readable code reach the caller.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { ApiError, getJson } from "../../static/js/api.js";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

function answer(status, body) {
  globalThis.fetch = async () =>
    new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json" },
    });
}

test("the envelope's data is what a call returns", async () => {
  answer(200, { success: true, data: { photos: [], totalCount: 0 } });
  assert.deepEqual(await getJson("/api/users/me/immich/photos/search"), { photos: [], totalCount: 0 });
});

test("an error envelope becomes an ApiError with its status, message and code", async () => {
  answer(409, { success: false, error: "Immich is disabled for this account", code: "immich_disabled" });
  await assert.rejects(getJson("/api/users/me/immich/photos/search"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.deepEqual([error.status, error.message, error.code], [409, "Immich is disabled for this account", "immich_disabled"]);
    return true;
  });
});

test("an error without a code, or without an envelope, has a null code", async () => {
  answer(400, { success: false, error: "startDate is required" });
  await assert.rejects(getJson("/api/x"), { status: 400, code: null, message: "startDate is required" });
  answer(502, "<html>Bad gateway</html>");
  await assert.rejects(getJson("/api/x"), { status: 502, code: null, message: "The server answered 502" });
});

test("an app that cannot be reached is status 0", async () => {
  globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  await assert.rejects(getJson("/api/x"), { name: "ApiError", status: 0, code: null });
});
