// The sign-in page: signing in, or creating an account. One state, changed only by the named
// changes below and drawn by render().
import { ApiError, getJson, postJson, readCookie } from "./api.js";
import { elementsById } from "./dom.js";

const params = new URLSearchParams(location.search);
// {passwordLogin, sso: {label, url} | null, headerLogin: url | null} from the server.
const options = JSON.parse(document.getElementById("page-config").textContent);

const ui = elementsById(["sign-in-section", "sign-up-section", "show-sign-up", "show-sign-in", "expired-notice"]);

// The two forms (their elements' ids start with the form's name) and their button's labels.
const formParts = (form) => elementsById(["form", "email", "error", "submit"], document, `${form}-`);
const FORMS = {
  "sign-in": { ...formParts("sign-in"), idle: "Sign in", busy: "Signing in…" },
  "sign-up": { ...formParts("sign-up"), idle: "Create account", busy: "Creating account…" },
};

/*
 * state = {
 *   form:    "sign-in" | "sign-up": the form on show
 *   errors:  {"sign-in": string, "sign-up": string}: what each form says went wrong
 *   busy:    the form whose request is running, or null
 *   expired: the visitor was sent here because their session ended
 * }
 */
let state = {
  form: params.get("signup") === "1" ? "sign-up" : "sign-in",
  errors: { "sign-in": "", "sign-up": "" },
  busy: null,
  expired: params.get("expired") === "1",
};

// The named changes: each takes the state and returns a new one.

function showForm(current, form) {
  return { ...current, form };
}

function sending(current, form) {
  return { ...current, busy: form, errors: { ...current.errors, [form]: "" } };
}

function failed(current, form, message) {
  return { ...current, busy: null, errors: { ...current.errors, [form]: message } };
}

function change(named, ...args) {
  state = named(state, ...args);
  render(state);
}

function render({ form, errors, busy, expired }) {
  ui.signInSection.hidden = form !== "sign-in";
  ui.signUpSection.hidden = form !== "sign-up";
  ui.showSignUp.setAttribute("aria-expanded", String(form === "sign-up"));
  ui.expiredNotice.hidden = !expired;
  for (const [name, parts] of Object.entries(FORMS)) {
    parts.error.textContent = errors[name];
    parts.error.hidden = !errors[name];
    parts.submit.disabled = busy === name;
    parts.submit.textContent = busy === name ? parts.busy : parts.idle;
  }
}

// Only same-site paths: an attacker's link must not bounce a fresh login elsewhere.
function nextPath() {
  const next = params.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function messageFor(error, fallback) {
  if (error instanceof ApiError && error.message) return error.message;
  return fallback;
}

async function signIn(email, password) {
  await postJson("/api/auth/login", { email, password }, { refresh: false });
}

/** The form's fields, trimmed; the password exactly as typed. */
function formValues(form) {
  const data = new FormData(form);
  const values = Object.fromEntries([...data.entries()].map(([key, value]) => [key, String(value).trim()]));
  return { ...values, password: form.elements.password.value };
}

/**
 * Wire one form: check() names what is missing, send() does the work (and leaves the page),
 * failure() words an error. The button stays busy until the next page or an error.
 */
function wireForm(form, { check, send, failure }) {
  FORMS[form].form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(event.currentTarget);
    const problem = check(values);
    if (problem) {
      change(failed, form, problem);
      return;
    }
    change(sending, form);
    try {
      await send(values);
    } catch (error) {
      change(failed, form, failure(error));
    }
  });
}

wireForm("sign-in", {
  check: ({ email, password }) => (email && password ? "" : "Enter your email and password."),
  send: async ({ email, password }) => {
    await signIn(email, password);
    location.assign(nextPath());
  },
  failure: (error) => messageFor(error, "Signing in failed. Please try again."),
});

wireForm("sign-up", {
  check: ({ email, password }) => {
    if (!email || !password) return "Enter an email and a password.";
    return password.length < 8 ? "Choose a password of at least 8 characters." : "";
  },
  send: async ({ email, password, name }) => {
    await postJson("/api/auth/register", name ? { email, password, name } : { email, password }, { refresh: false });
    await signIn(email, password);
    // A new account has no Immich server yet: that is the first thing to set up.
    location.assign("/settings?welcome=1");
  },
  failure: (error) =>
    error instanceof ApiError && error.status === 403
      ? "Registration is closed. Ask the administrator of this Photo Atlas for an account."
      : messageFor(error, "The account could not be created."),
});

function toggle(form) {
  change(showForm, form);
  FORMS[form].email.focus();
}

ui.showSignUp.addEventListener("click", () => toggle("sign-up"));
ui.showSignIn.addEventListener("click", () => toggle("sign-in"));

// Behind a proxy that signs people in, go straight to its header sign-in, once: a failure comes
// back here with ?error=, and the page then stays.
if (options.headerLogin && !params.has("error")) {
  location.replace(options.headerLogin);
}

render(state);
if (state.form === "sign-up") FORMS["sign-up"].email.focus();
if (!state.expired && readCookie("csrf_access_token")) {
  // Already signed in: skip the form.
  getJson("/api/users/me", { redirectOnAuthFailure: false })
    .then(() => location.replace(nextPath()))
    .catch(() => {});
}
