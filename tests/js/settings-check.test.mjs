// settings-check.js: what a save sends, and what a connection test says is wrong, in words.
import assert from "node:assert/strict";
import { test } from "node:test";

import { checkPlan, connectionProblem, saveRequest } from "../../static/js/settings-check.js";

const URL = "http://192.168.1.20:2283";
const STORED = { serverUrl: URL, enabled: true };

test("a typed key saves every field with PUT and is tested before saving", () => {
  const request = saveRequest({ serverUrl: URL, apiKey: "k", enabled: true }, STORED);
  assert.deepEqual(request, { method: "PUT", body: { serverUrl: URL, apiKey: "k", enabled: true }, enabled: true });
  assert.deepEqual(checkPlan(request), { body: { serverUrl: URL, apiKey: "k" } });
});

test("without a key, only what changed is sent with PATCH", () => {
  const off = saveRequest({ serverUrl: URL, apiKey: "", enabled: false }, STORED);
  assert.deepEqual(off, { method: "PATCH", body: { enabled: false }, enabled: false });
  assert.equal(checkPlan(off), null, "switching off needs no test");

  const moved = saveRequest({ serverUrl: "http://10.0.0.2:2283", apiKey: "", enabled: true }, STORED);
  assert.deepEqual(moved.body, { serverUrl: "http://10.0.0.2:2283" });
  assert.deepEqual(checkPlan(moved), { after: true });

  const on = saveRequest({ serverUrl: URL, apiKey: "", enabled: true }, { ...STORED, enabled: false });
  assert.deepEqual(on.body, { enabled: true });
  assert.deepEqual(checkPlan(on), { after: true }, "switched-off settings cannot be tested before");

  assert.deepEqual(saveRequest({ serverUrl: URL, apiKey: "", enabled: true }, STORED), { unchanged: true });
});

test("a form that cannot be saved names the field to fix", () => {
  assert.equal(saveRequest({ serverUrl: "", apiKey: "k", enabled: true }, null).field, "serverUrl");
  assert.equal(saveRequest({ serverUrl: URL, apiKey: "", enabled: true }, null).field, "apiKey");
});

test("each kind of failed test is told in a user's words", () => {
  const down = connectionProblem({ reachable: false, reason: "Immich could not be reached" }, URL);
  assert.equal(down.kind, "unreachable");
  assert.equal(down.field, "serverUrl");
  assert.match(down.message, /could not reach Immich at http:\/\/192\.168\.1\.20:2283/);

  const rejected = connectionProblem({ reachable: false, serverVersion: "2.7.4", reason: "Immich rejected the API key" }, URL);
  assert.equal(rejected.kind, "rejected");
  assert.match(rejected.message, /did not accept this API key/);

  const limited = connectionProblem(
    { reachable: true, serverVersion: "2.7.4", missingPermissions: ["asset.view", "asset.download"] },
    URL,
  );
  assert.equal(limited.kind, "permissions");
  assert.match(limited.message, /show thumbnails and previews \(asset\.view\) or download originals \(asset\.download\)/);

  assert.equal(connectionProblem({ reachable: true, serverVersion: "2.7.4", missingPermissions: [] }, URL), null);
});
