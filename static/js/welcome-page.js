// The first-run page: who is signed in, and whether Immich is in fact connected already.
import { getJson } from "./api.js";
import { requireUser, wireSignOut } from "./session.js";

wireSignOut();
requireUser()
  .then(() => getJson("/api/users/me/immich-config"))
  .then((stored) => {
    document.getElementById("welcome-ready").hidden = !stored;
  })
  .catch(() => {});
