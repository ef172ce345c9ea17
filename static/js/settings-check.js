// What a save of the settings form sends, and what a connection test says is wrong with it, in
// a user's words. Plain functions of plain values, so the settings page stays a thin shell.

// What each permission Photo Atlas relies on lets it do.
export const PERMISSION_USES = {
  "asset.read": "search your photos",
  "asset.view": "show thumbnails and previews",
  "asset.download": "download originals",
};

/**
 * The request a save makes, from the form and the stored settings ({serverUrl, enabled} or
 * null): {method: "PUT", body} with every field when a key is typed, {method: "PATCH", body}
 * with what changed when the stored key is kept, {unchanged: true} when nothing changed, or
 * {problem, field} when the form cannot be saved. `enabled` says whether Immich is on after it.
 */
export function saveRequest({ serverUrl, apiKey, enabled }, stored) {
  if (!serverUrl) return { problem: "Enter the address of your Immich server.", field: "serverUrl" };
  if (apiKey) return { method: "PUT", body: { serverUrl, apiKey, enabled }, enabled };
  if (!stored) return { problem: "Enter your Immich API key.", field: "apiKey" };
  const body = {};
  if (serverUrl !== stored.serverUrl) body.serverUrl = serverUrl;
  if (enabled !== Boolean(stored.enabled)) body.enabled = enabled;
  if (!Object.keys(body).length) return { unchanged: true };
  return { method: "PATCH", body, enabled };
}

/**
 * How to test a save: {body} (the typed URL and key, before saving), {after: true} (the stored
 * key, which only the stored settings can test, so right after saving), or null when Immich
 * is switched off and there is nothing to check.
 */
export function checkPlan(request) {
  if (!request.enabled) return null;
  const { body } = request;
  return body.apiKey ? { body: { serverUrl: body.serverUrl, apiKey: body.apiKey } } : { after: true };
}

function names(permissions) {
  return permissions.map((permission) => `${PERMISSION_USES[permission] || "use"} (${permission})`);
}

function joined(words) {
  if (words.length < 2) return words.join("");
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/**
 * What a connection test report says is wrong, {kind, title, message, field} with kind
 * "unreachable", "rejected" or "permissions" and field the input to fix; null when the
 * settings work.
 */
export function connectionProblem(report, serverUrl) {
  const where = serverUrl ? ` at ${serverUrl}` : "";
  if (!report.reachable && !report.serverVersion) {
    return {
      kind: "unreachable",
      title: "Immich could not be reached",
      message:
        `Photo Atlas could not reach Immich${where} (${report.reason || "no answer"}). ` +
        "Check the address, including the port, and that the server is running.",
      field: "serverUrl",
    };
  }
  if (!report.reachable) {
    return {
      kind: "rejected",
      title: "Immich rejected the API key",
      message:
        `Immich ${report.serverVersion}${where} answered, but did not accept this API key ` +
        `(${report.reason || "refused"}). Check that you copied the whole key and that it still exists in Immich.`,
      field: "apiKey",
    };
  }
  const missing = report.missingPermissions || [];
  if (missing.length) {
    return {
      kind: "permissions",
      title: "The API key lacks permissions",
      message:
        `Immich accepted the key, but it cannot ${joined(names(missing))}. ` +
        "Create a key in Immich with these permissions.",
      field: "apiKey",
    };
  }
  return null;
}
