// The settings page: the user's Immich server. One state, changed only by the named changes
// below and drawn by render(); the inputs belong to the user between a load, save or delete.
import { ApiError, deleteJson, getJson, patchJson, postJson, putJson } from "./api.js";
import { el, elementsById } from "./dom.js";
import { requireUser, wireSignOut } from "./session.js";
import { checkPlan, connectionProblem, saveRequest } from "./settings-check.js";

const CONFIG_PATH = "/api/users/me/immich-config";

const ui = elementsById([
  "settings-loading",
  "immich-form",
  "server-url",
  "api-key",
  "api-key-hint",
  "enabled",
  "settings-status",
  "save-settings",
  "test-connection",
  "delete-settings",
  "delete-dialog",
  "test-result",
]);

// The buttons whose request can be running, with their labels meanwhile.
const BUTTONS = {
  save: { element: ui.saveSettings, idle: "Save", busy: "Checking and saving…" },
  test: { element: ui.testConnection, idle: "Test connection", busy: "Testing…" },
  delete: { element: ui.deleteSettings, idle: "Delete", busy: "Deleting…" },
};

// What each permission Photo Atlas relies on lets it do, in the user's words.
const PERMISSION_WORDS = {
  "asset.read": "This key cannot search your photos (asset.read)",
  "asset.view": "This key cannot view thumbnails (asset.view)",
  "asset.download": "This key cannot download originals (asset.download)",
};

/*
 * state = {
 *   loading: "loading" | "ready" | "failed" (loadError then says why)
 *   stored:  the saved settings, {serverUrl, enabled}, or null. The API never sends the key
 *            back, but saved settings always hold one.
 *   notice:  {kind, message, title?, link?, confirm?} under the form, or null; confirm: the
 *            notice asks whether to save settings whose test failed
 *   pending: the save request ({method, body}) waiting for that answer, or null
 *   test:    {result, usedStored}: the last connection test, or null
 *   busy:    "save" | "test" | "delete" while that request runs, else null
 * }
 */
let state = { loading: "loading", loadError: "", stored: null, notice: null, pending: null, test: null, busy: null };

// The named changes: each takes the state and returns a new one.

function loaded(current, stored, welcome) {
  const notice =
    welcome && !stored
      ? { kind: "info", message: "Welcome! Connect your Immich server to see your photos on the map." }
      : null;
  return { ...current, loading: "ready", stored, notice };
}

function loadFailed(current, loadError) {
  return { ...current, loading: "failed", loadError };
}

function busy(current, action) {
  return { ...current, busy: action, notice: action === "test" ? null : current.notice };
}

function refused(current, message) {
  return { ...current, pending: null, notice: { kind: "error", message } };
}

/** The test before a save failed: the save waits for the user to confirm it. */
function confirmNeeded(current, request, problem) {
  const message = `${problem.message} Save these settings anyway?`;
  const notice = { kind: "warning", title: problem.title, message, confirm: true };
  return { ...current, pending: { ...request, field: problem.field }, notice };
}

function confirmDropped(current) {
  return { ...current, pending: null, notice: null };
}

function unchanged(current) {
  return { ...current, pending: null, notice: { kind: "info", message: "Nothing changed: these are the saved settings." } };
}

/** A request failed; a failed test leaves no earlier result in view. */
function requestFailed(current, message) {
  return { ...refused(current, message), test: current.busy === "test" ? null : current.test };
}

/** Saved; `problem` is what a test right after the save found wrong, if anything. */
function saved(current, stored, problem = null) {
  const link = { text: "Go to the map", href: "/" };
  const notice = problem
    ? { kind: "warning", title: problem.title, message: `Settings saved. ${problem.message}`, link }
    : { kind: "success", message: "Settings saved.", link };
  return { ...current, stored, pending: null, notice };
}

function tested(current, result, usedStored) {
  return { ...current, test: { result, usedStored } };
}

function deleted(current) {
  const notice = { kind: "success", message: "Your Immich settings were deleted." };
  return { ...current, stored: null, test: null, notice };
}

function change(named, ...args) {
  state = named(state, ...args);
  render(state);
}

// Rendering. Each part is redrawn only when its piece of state is a new one.

const drawn = { stored: undefined, notice: undefined, test: undefined };

function render(current) {
  renderLoading(current);
  if (current.stored !== drawn.stored) renderStored(current.stored);
  if (current.notice !== drawn.notice) renderNotice(current.notice);
  if (current.test !== drawn.test) renderTest(current.test);
  Object.assign(drawn, { stored: current.stored, notice: current.notice, test: current.test });
  for (const [action, { element, idle, busy: label }] of Object.entries(BUTTONS)) {
    element.disabled = current.busy === action;
    element.textContent = current.busy === action ? label : idle;
  }
}

function renderLoading({ loading, loadError }) {
  ui.immichForm.hidden = loading !== "ready";
  ui.settingsLoading.hidden = loading === "ready";
  if (loading === "failed") {
    ui.settingsLoading.className = "notice notice--error";
    ui.settingsLoading.textContent = loadError;
  }
}

/** The saved settings fill the form afresh; the key field is always left empty. */
function renderStored(stored) {
  ui.serverUrl.value = stored ? stored.serverUrl : "";
  ui.enabled.checked = stored ? Boolean(stored.enabled) : true;
  ui.apiKey.value = "";
  ui.apiKey.placeholder = stored ? "Leave empty to keep the stored key" : "Paste your Immich API key";
  ui.apiKeyHint.textContent = stored
    ? "A key is stored; it is never shown or sent back to this page. Leave empty to keep the stored key, or paste a new one."
    : "Your key is stored encrypted and is never shown again.";
  ui.deleteSettings.hidden = !stored;
}

function renderNotice(notice) {
  ui.settingsStatus.replaceChildren();
  if (!notice) return;
  const link = notice.link && el("a", { href: notice.link.href }, notice.link.text);
  const title = notice.title && el("strong", { class: "notice-title" }, notice.title);
  const box = el("div", { class: `notice notice--${notice.kind}` }, title, el("p", {}, notice.message, link && " ", link));
  if (notice.confirm) {
    box.append(
      el(
        "div",
        { class: "button-row" },
        el("button", { type: "button", class: "button button--primary", id: "save-anyway" }, "Save anyway"),
        el("button", { type: "button", class: "button", id: "cancel-save" }, "Change the settings"),
      ),
    );
  }
  ui.settingsStatus.append(box);
}

function renderTest(test) {
  ui.testResult.hidden = !test;
  if (!test) return;
  const { result, usedStored } = test;
  const scope = usedStored ? "The saved settings: " : "";
  if (!result.reachable) {
    ui.testResult.className = "test-result test-result--error";
    ui.testResult.replaceChildren(
      el("h2", {}, "Could not connect"),
      el("p", {}, scope + (result.reason || "Immich did not answer.")),
    );
    return;
  }
  const missing = result.missingPermissions || [];
  ui.testResult.className = `test-result ${missing.length ? "test-result--warning" : "test-result--ok"}`;
  ui.testResult.replaceChildren(el("h2", {}, `${scope}Connected`), connectionFacts(result));
  if (missing.length) ui.testResult.append(...missingPermissions(missing));
  const unchecked = Object.entries(result.permissions || {})
    .filter(([, granted]) => granted === null)
    .map(([permission]) => permission);
  if (unchecked.length) {
    const text = `Not checked, as there is no photo to try them on: ${unchecked.join(", ")}.`;
    ui.testResult.append(el("p", { class: "hint" }, text));
  } else if (!missing.length) {
    ui.testResult.append(el("p", {}, "This key has every permission Photo Atlas needs."));
  }
}

function connectionFacts(result) {
  const fact = (term, value) => el("div", {}, el("dt", {}, term), el("dd", {}, value));
  return el(
    "dl",
    { class: "facts" },
    fact("Immich version", result.serverVersion || "unknown"),
    fact("Signed in to Immich as", result.immichUser || "not shown to this key (user.read)"),
  );
}

function missingPermissions(missing) {
  const words = (permission) => PERMISSION_WORDS[permission] || `This key lacks the ${permission} permission`;
  return [
    el("p", {}, "Some features will not work with this key:"),
    el("ul", { class: "missing-permissions" }, ...missing.map((permission) => el("li", {}, words(permission)))),
    el("p", { class: "hint" }, "Create a key in Immich with the missing permissions, then save it here."),
  ];
}

// Requests.

function errorText(error, fallback) {
  return error instanceof ApiError && error.message ? error.message : fallback;
}

/** One button's request: the button is busy while it runs; a failure is told under the form. */
async function run(action, request, failure) {
  change(busy, action);
  try {
    await request();
  } catch (error) {
    change(requestFailed, errorText(error, failure));
  } finally {
    change(busy, null);
  }
}

/** Tell the page's other sections (location history) whether Immich is set up now. */
function announce(stored) {
  document.dispatchEvent(new CustomEvent("immich-settings", { detail: { configured: Boolean(stored) } }));
}

async function load() {
  try {
    const stored = await getJson(CONFIG_PATH);
    announce(stored);
    change(loaded, stored, new URLSearchParams(location.search).get("welcome") === "1");
    (stored ? ui.apiKey : ui.serverUrl).focus();
  } catch (error) {
    change(loadFailed, errorText(error, "Your settings could not be loaded."));
  }
}

const FIELDS = { serverUrl: ui.serverUrl, apiKey: ui.apiKey };

/** Store the request's settings; with `check`, test them first (or, for a new address with
 *  the stored key, right after) and say in words what is wrong. */
function save(request, { check }) {
  const plan = check ? checkPlan(request) : null;
  const serverUrl = request.body.serverUrl ?? state.stored?.serverUrl;
  run(
    "save",
    async () => {
      if (plan && !plan.after) {
        const report = await postJson(`${CONFIG_PATH}/test`, plan.body);
        change(tested, report, false);
        const problem = connectionProblem(report, serverUrl);
        if (problem) {
          change(confirmNeeded, request, problem);
          document.getElementById("save-anyway")?.focus();
          return;
        }
      }
      await (request.method === "PATCH" ? patchJson : putJson)(CONFIG_PATH, request.body);
      const stored = await getJson(CONFIG_PATH);
      let problem = null;
      if (plan?.after) {
        const report = await postJson(`${CONFIG_PATH}/test`);
        change(tested, report, true);
        problem = connectionProblem(report, serverUrl);
      }
      change(saved, stored, problem);
      announce(stored);
    },
    "Your settings could not be saved.",
  );
}

ui.immichForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = { serverUrl: ui.serverUrl.value.trim(), apiKey: ui.apiKey.value.trim(), enabled: ui.enabled.checked };
  const request = saveRequest(form, state.stored);
  if (request.problem) {
    change(refused, request.problem);
    FIELDS[request.field].focus();
  } else if (request.unchanged) {
    change(unchanged);
  } else {
    save(request, { check: true });
  }
});

ui.settingsStatus.addEventListener("click", (event) => {
  const pending = state.pending;
  if (!pending) return;
  if (event.target.closest("#save-anyway")) {
    save(pending, { check: false });
  } else if (event.target.closest("#cancel-save")) {
    change(confirmDropped);
    FIELDS[pending.field].focus();
  }
});

ui.testConnection.addEventListener("click", () => {
  const serverUrl = ui.serverUrl.value.trim();
  const apiKey = ui.apiKey.value.trim();
  // With a key typed in, test what is typed; without one, the saved settings.
  const body = apiKey ? { serverUrl, apiKey } : undefined;
  if (body && !serverUrl) {
    change(refused, "Enter the address of your Immich server.");
    return;
  }
  if (!body && !state.stored) {
    change(refused, "Enter the server address and API key to test them.");
    return;
  }
  run(
    "test",
    async () => change(tested, await postJson(`${CONFIG_PATH}/test`, body), !body),
    "The connection could not be tested.",
  );
});

ui.deleteSettings.addEventListener("click", () => {
  ui.deleteDialog.returnValue = "";
  ui.deleteDialog.showModal();
});

ui.deleteDialog.addEventListener("close", () => {
  if (ui.deleteDialog.returnValue !== "delete") {
    ui.deleteSettings.focus();
    return;
  }
  run(
    "delete",
    async () => {
      await deleteJson(CONFIG_PATH);
      change(deleted);
      announce(null);
      ui.serverUrl.focus();
    },
    "Your settings could not be deleted.",
  );
});

wireSignOut();
render(state);
requireUser().then(load, (error) => change(loadFailed, errorText(error, "Photo Atlas could not be reached.")));
