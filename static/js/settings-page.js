import { ApiError, deleteJson, getJson, postJson, putJson } from "./api.js";
import { requireUser, wireSignOut } from "./session.js";

const CONFIG_PATH = "/api/users/me/immich-config";

const form = document.getElementById("immich-form");
const urlInput = document.getElementById("server-url");
const keyInput = document.getElementById("api-key");
const keyHint = document.getElementById("api-key-hint");
const enabledInput = document.getElementById("enabled");
const statusBox = document.getElementById("settings-status");
const saveButton = document.getElementById("save-settings");
const testButton = document.getElementById("test-connection");
const deleteButton = document.getElementById("delete-settings");
const deleteDialog = document.getElementById("delete-dialog");
const testResult = document.getElementById("test-result");

// What each permission Photo Atlas relies on lets it do, in the user's words.
const PERMISSION_WORDS = {
  "asset.read": "This key cannot search your photos (asset.read)",
  "asset.view": "This key cannot view thumbnails (asset.view)",
  "asset.download": "This key cannot download originals (asset.download)",
};

let stored = null;

function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function setStatus(kind, message, extra) {
  statusBox.replaceChildren();
  if (!message) return;
  const line = el("p", { className: `notice notice--${kind}`, text: message });
  if (extra) line.append(" ", extra);
  statusBox.append(line);
}

function showStored(config) {
  stored = config;
  urlInput.value = config ? config.serverUrl : "";
  enabledInput.checked = config ? Boolean(config.enabled) : true;
  keyInput.value = "";
  const hasKey = Boolean(config && config.hasApiKey !== false);
  keyInput.placeholder = hasKey ? "A key is stored" : "Paste your Immich API key";
  keyHint.textContent = hasKey
    ? "A key is stored. To save any change, enter the key again: it is never shown or sent back to this page."
    : "Your key is stored encrypted and is never shown again.";
  deleteButton.hidden = !config;
}

function busy(button, label) {
  const original = button.textContent;
  button.disabled = true;
  button.textContent = label;
  return () => {
    button.disabled = false;
    button.textContent = original;
  };
}

function errorText(error, fallback) {
  return error instanceof ApiError && error.message ? error.message : fallback;
}

async function load() {
  try {
    showStored(await getJson(CONFIG_PATH));
    form.hidden = false;
    document.getElementById("settings-loading").hidden = true;
    if (new URLSearchParams(location.search).get("welcome") === "1" && !stored) {
      setStatus("info", "Welcome! Connect your Immich server to see your photos on the map.");
    }
    (stored ? keyInput : urlInput).focus();
  } catch (error) {
    const loading = document.getElementById("settings-loading");
    loading.className = "notice notice--error";
    loading.textContent = errorText(error, "Your settings could not be loaded.");
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const serverUrl = urlInput.value.trim();
  const apiKey = keyInput.value.trim();
  if (!serverUrl) {
    setStatus("error", "Enter the address of your Immich server.");
    urlInput.focus();
    return;
  }
  if (!apiKey) {
    setStatus(
      "error",
      stored
        ? "Enter the API key again to save: the stored key is never sent back to this page."
        : "Enter your Immich API key.",
    );
    keyInput.focus();
    return;
  }
  const done = busy(saveButton, "Saving…");
  try {
    await putJson(CONFIG_PATH, { serverUrl, apiKey, enabled: enabledInput.checked });
    showStored(await getJson(CONFIG_PATH));
    const link = el("a", { text: "Go to the map", attrs: { href: "/" } });
    setStatus("success", "Settings saved.", link);
  } catch (error) {
    setStatus("error", errorText(error, "Your settings could not be saved."));
  } finally {
    done();
  }
});

function renderTestResult(result, usedStored) {
  testResult.replaceChildren();
  testResult.hidden = false;
  const scope = usedStored ? "The saved settings: " : "";
  if (!result.reachable) {
    testResult.className = "test-result test-result--error";
    testResult.append(
      el("h2", { text: "Could not connect" }),
      el("p", { text: scope + (result.reason || "Immich did not answer.") }),
    );
    return;
  }
  const missing = result.missingPermissions || [];
  testResult.className = `test-result ${missing.length ? "test-result--warning" : "test-result--ok"}`;
  const facts = el("dl", { className: "facts" }, [
    el("div", {}, [el("dt", { text: "Immich version" }), el("dd", { text: result.serverVersion || "unknown" })]),
    el("div", {}, [
      el("dt", { text: "Signed in to Immich as" }),
      el("dd", { text: result.immichUser || "not shown to this key (user.read)" }),
    ]),
  ]);
  testResult.append(el("h2", { text: `${scope}Connected` }), facts);
  if (missing.length) {
    const list = el("ul", { className: "missing-permissions" });
    for (const permission of missing) {
      list.append(el("li", { text: PERMISSION_WORDS[permission] || `This key lacks the ${permission} permission` }));
    }
    testResult.append(
      el("p", { text: "Some features will not work with this key:" }),
      list,
      el("p", { className: "hint", text: "Create a key in Immich with the missing permissions, then save it here." }),
    );
  }
  const unchecked = Object.entries(result.permissions || {})
    .filter(([, granted]) => granted === null)
    .map(([permission]) => permission);
  if (unchecked.length) {
    testResult.append(
      el("p", {
        className: "hint",
        text: `Not checked, as there is no photo to try them on: ${unchecked.join(", ")}.`,
      }),
    );
  } else if (!missing.length) {
    testResult.append(el("p", { text: "This key has every permission Photo Atlas needs." }));
  }
}

testButton.addEventListener("click", async () => {
  const serverUrl = urlInput.value.trim();
  const apiKey = keyInput.value.trim();
  let body;
  if (apiKey) {
    if (!serverUrl) {
      setStatus("error", "Enter the address of your Immich server.");
      return;
    }
    body = { serverUrl, apiKey };
  } else if (!stored) {
    setStatus("error", "Enter the server address and API key to test them.");
    return;
  }
  setStatus("", "");
  const done = busy(testButton, "Testing…");
  try {
    renderTestResult(await postJson(`${CONFIG_PATH}/test`, body), !body);
  } catch (error) {
    testResult.hidden = true;
    setStatus("error", errorText(error, "The connection could not be tested."));
  } finally {
    done();
  }
});

deleteButton.addEventListener("click", () => {
  deleteDialog.returnValue = "";
  deleteDialog.showModal();
});

deleteDialog.addEventListener("close", async () => {
  if (deleteDialog.returnValue !== "delete") {
    deleteButton.focus();
    return;
  }
  const done = busy(deleteButton, "Deleting…");
  try {
    await deleteJson(CONFIG_PATH);
    showStored(null);
    testResult.hidden = true;
    setStatus("success", "Your Immich settings were deleted.");
    urlInput.focus();
  } catch (error) {
    setStatus("error", errorText(error, "Your settings could not be deleted."));
  } finally {
    done();
  }
});

wireSignOut();
requireUser().then(load, (error) => {
  const loading = document.getElementById("settings-loading");
  loading.className = "notice notice--error";
  loading.textContent = errorText(error, "Photo Atlas could not be reached.");
});
