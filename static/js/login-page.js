import { ApiError, getJson, postJson, readCookie } from "./api.js";

const params = new URLSearchParams(location.search);
const signInSection = document.getElementById("sign-in-section");
const signUpSection = document.getElementById("sign-up-section");
const showSignUp = document.getElementById("show-sign-up");

// Only same-site paths: an attacker's link must not bounce a fresh login elsewhere.
function nextPath() {
  const next = params.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

function toggle(signUp) {
  signInSection.hidden = signUp;
  signUpSection.hidden = !signUp;
  showSignUp.setAttribute("aria-expanded", String(signUp));
  document.getElementById(signUp ? "sign-up-email" : "sign-in-email").focus();
}

function messageFor(error, fallback) {
  if (error instanceof ApiError && error.message) return error.message;
  return fallback;
}

async function signIn(email, password) {
  await postJson("/api/auth/login", { email, password }, { refresh: false });
}

function formValues(form) {
  const data = new FormData(form);
  return Object.fromEntries([...data.entries()].map(([key, value]) => [key, String(value).trim()]));
}

document.getElementById("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = document.getElementById("sign-in-error");
  const button = document.getElementById("sign-in-submit");
  const { email } = formValues(form);
  const password = form.elements.password.value;
  if (!email || !password) {
    showError(errorBox, "Enter your email and password.");
    return;
  }
  showError(errorBox, "");
  button.disabled = true;
  button.textContent = "Signing in…";
  try {
    await signIn(email, password);
    location.assign(nextPath());
  } catch (error) {
    showError(errorBox, messageFor(error, "Signing in failed. Please try again."));
    button.disabled = false;
    button.textContent = "Sign in";
  }
});

document.getElementById("sign-up-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = document.getElementById("sign-up-error");
  const button = document.getElementById("sign-up-submit");
  const { email, name } = formValues(form);
  const password = form.elements.password.value;
  if (!email || !password) {
    showError(errorBox, "Enter an email and a password.");
    return;
  }
  if (password.length < 8) {
    showError(errorBox, "Choose a password of at least 8 characters.");
    return;
  }
  showError(errorBox, "");
  button.disabled = true;
  button.textContent = "Creating account…";
  try {
    const body = { email, password };
    if (name) body.name = name;
    await postJson("/api/auth/register", body, { refresh: false });
    await signIn(email, password);
    // A new account has no Immich server yet: that is the first thing to set up.
    location.assign("/settings?welcome=1");
  } catch (error) {
    let message = messageFor(error, "The account could not be created.");
    if (error instanceof ApiError && error.status === 403) {
      message = "Registration is closed. Ask the administrator of this Photo Atlas for an account.";
    }
    showError(errorBox, message);
    button.disabled = false;
    button.textContent = "Create account";
  }
});

showSignUp.addEventListener("click", () => toggle(true));
document.getElementById("show-sign-in").addEventListener("click", () => toggle(false));

if (params.get("expired") === "1") {
  document.getElementById("expired-notice").hidden = false;
} else if (readCookie("csrf_access_token")) {
  // Already signed in: skip the form.
  getJson("/api/users/me", { redirectOnAuthFailure: false })
    .then(() => location.replace(nextPath()))
    .catch(() => {});
}
if (params.get("signup") === "1") toggle(true);
