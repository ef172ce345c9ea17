// The owner's shares: create a link (of dates, or of one of the trips found in the library),
// list, copy, extend and revoke them, and edit the privacy zones. One state, changed by the
// named functions below and drawn by render().
import { api, deleteJson, getJson, postJson, putJson } from "./api.js";
import { customRange, formatSpan, toIsoUtc } from "./dates.js";
import { el, elementsById } from "./dom.js";
import { requireUser, wireSignOut } from "./session.js";

const SHARES = "/api/users/me/shares";
const ZONES = "/api/users/me/privacy-zones";
const TRIPS = "/api/users/me/trips";
const DAY_MS = 24 * 3600 * 1000;

const ui = elementsById([
  "share-form", "share-trip-field", "share-trip", "share-name", "share-from-field", "share-from", "share-to-field",
  "share-to", "share-latitude", "share-longitude", "share-radius", "share-days", "share-password", "share-precision",
  "share-download", "share-status", "create-share", "new-link", "new-link-url", "copy-link", "trips-card",
  "trip-list", "shares-empty", "share-list", "zone-list", "add-zone", "save-zones", "zones-status",
]);

/* state = { shares: [], zones: [{name, latitude, longitude, radiusMeters}], trips: [], tripId: "" (the trip
   the form shares instead of dates), status: "", zonesStatus: "", newUrl: "" } */
const state = { shares: [], zones: [], trips: [], tripId: "", status: "", zonesStatus: "", newUrl: "" };

function setState(changes) {
  Object.assign(state, changes);
  render();
}

function numberOrNull(input) {
  return input.value === "" ? null : Number(input.value);
}

function shareBody() {
  const body = {
    name: ui.shareName.value.trim(),
    expiresAt: new Date(Date.now() + Number(ui.shareDays.value || 0) * DAY_MS).toISOString(),
    allowDownload: ui.shareDownload.checked,
    locationPrecision: ui.sharePrecision.value,
  };
  if (state.tripId) {
    body.tripId = state.tripId;
  } else {
    // Whole days in the owner's own time zone, as the map's dates are.
    const range = customRange(ui.shareFrom.value, ui.shareTo.value);
    if (range.error) return { problem: range.error };
    body.startDate = toIsoUtc(range.start);
    body.endDate = toIsoUtc(range.end);
  }
  const radiusKm = numberOrNull(ui.shareRadius);
  if (radiusKm !== null) {
    body.latitude = numberOrNull(ui.shareLatitude);
    body.longitude = numberOrNull(ui.shareLongitude);
    body.radiusMeters = radiusKm * 1000;
  }
  if (ui.sharePassword.value) body.password = ui.sharePassword.value;
  return body;
}

async function createShare(event) {
  event.preventDefault();
  const body = shareBody();
  if (body.problem) {
    setState({ status: body.problem });
    return;
  }
  ui.createShare.disabled = true;
  try {
    const created = await postJson(SHARES, body);
    ui.sharePassword.value = "";
    setState({ status: "Link created.", newUrl: new URL(created.url, location.origin).href });
    await loadShares();
  } catch (error) {
    setState({ status: error.message });
  } finally {
    ui.createShare.disabled = false;
  }
}

async function loadShares() {
  setState({ shares: await getJson(SHARES) });
}

async function extendShare(share, days) {
  const expiresAt = new Date(Date.now() + days * DAY_MS).toISOString();
  try {
    await api("PATCH", `${SHARES}/${share.id}`, { body: { expiresAt } });
    await loadShares();
  } catch (error) {
    setState({ status: error.message });
  }
}

async function revokeShare(share) {
  if (!window.confirm(`Revoke “${share.name}”? Its link stops working at once.`)) return;
  await deleteJson(`${SHARES}/${share.id}`);
  await loadShares();
}

function shareItem(share) {
  const until = new Date(share.expiresAt).toLocaleString();
  const extend = el("button", { type: "button", class: "button" }, "Extend 30 days");
  extend.addEventListener("click", () => extendShare(share, 30));
  const revoke = el("button", { type: "button", class: "button button--danger" }, "Revoke");
  revoke.addEventListener("click", () => revokeShare(share));
  const details = `${formatSpan(new Date(share.startDate), new Date(share.endDate))} · ${
    share.expired ? "expired" : `until ${until}`
  } · ${share.viewCount} views${share.hasPassword ? " · password" : ""}`;
  return el("li", { class: "share-item", "data-share-id": share.id },
    el("strong", {}, share.name), el("p", { class: "hint" }, details),
    el("div", { class: "button-row" }, extend, revoke));
}

/** The form shares this trip (its id; "" for the dates); an empty name takes the trip's. */
function chooseTrip(tripId) {
  const trip = state.trips.find((t) => t.id === tripId);
  if (trip && !ui.shareName.value.trim()) ui.shareName.value = trip.name;
  setState({ tripId: trip ? trip.id : "" });
}

function tripDays(trip) {
  return formatSpan(new Date(trip.startedAt), new Date(trip.endedAt));
}

function tripItem(trip) {
  const share = el("button", { type: "button", class: "button" }, "Share this trip");
  share.addEventListener("click", () => {
    chooseTrip(trip.id);
    ui.shareName.focus();
  });
  const count = `${trip.photoCount} ${trip.photoCount === 1 ? "photo" : "photos"}`;
  return el("li", { class: "share-item trip-item", "data-trip-id": trip.id },
    el("strong", {}, trip.name), el("p", { class: "hint" }, `${tripDays(trip)} · ${count}`),
    el("div", { class: "button-row" }, share));
}

function tripOption(trip) {
  return el("option", { value: trip.id }, `${trip.name} (${tripDays(trip)})`);
}

async function loadTrips() {
  try {
    // Trips are found in the library index: without Immich settings or the index, there are none.
    setState({ trips: await getJson(TRIPS) });
  } catch {
    setState({ trips: [] });
  }
  const wanted = new URLSearchParams(location.search).get("trip");
  if (wanted) chooseTrip(wanted);
}

function zoneItem(zone, index) {
  const field = (label, key, attrs) => {
    const input = el("input", { ...attrs, value: zone[key] ?? "", "aria-label": `${label} of zone ${index + 1}` });
    // Kept as typed, so that the list redrawn meanwhile (a share extended, say) keeps it too.
    input.addEventListener("input", () => {
      state.zones[index][key] = attrs.type === "number" ? numberOrNull(input) : input.value;
    });
    return el("label", { class: "field field--inline" }, el("span", { class: "field-label" }, label), input);
  };
  const remove = el("button", { type: "button", class: "button button--quiet" }, "Remove");
  remove.addEventListener("click", () => setState({ zones: state.zones.filter((_, i) => i !== index) }));
  return el("li", { class: "zone-item" },
    field("Name", "name", { type: "text", maxlength: 200 }),
    field("Latitude", "latitude", { type: "number", step: "any" }),
    field("Longitude", "longitude", { type: "number", step: "any" }),
    field("Radius (m)", "radiusMeters", { type: "number", step: "any", min: 1 }),
    remove);
}

async function saveZones() {
  try {
    setState({ zones: await putJson(ZONES, state.zones), zonesStatus: "Privacy zones saved." });
  } catch (error) {
    setState({ zonesStatus: error.message });
  }
}

function render() {
  const byTrip = Boolean(state.tripId);
  ui.shareTripField.hidden = !state.trips.length;
  ui.shareTrip.replaceChildren(ui.shareTrip.options[0], ...state.trips.map(tripOption));
  ui.shareTrip.value = state.tripId;
  ui.shareFromField.hidden = byTrip;
  ui.shareToField.hidden = byTrip;
  ui.tripsCard.hidden = !state.trips.length;
  ui.tripList.replaceChildren(...state.trips.map(tripItem));
  ui.shareStatus.textContent = state.status;
  ui.newLink.hidden = !state.newUrl;
  ui.newLinkUrl.value = state.newUrl;
  ui.sharesEmpty.hidden = state.shares.length > 0;
  ui.shareList.replaceChildren(...state.shares.map(shareItem));
  ui.zoneList.replaceChildren(...state.zones.map(zoneItem));
  ui.zonesStatus.textContent = state.zonesStatus;
}

ui.shareForm.addEventListener("submit", createShare);
ui.shareTrip.addEventListener("change", () => chooseTrip(ui.shareTrip.value));
ui.copyLink.addEventListener("click", () => navigator.clipboard?.writeText(state.newUrl));
ui.addZone.addEventListener("click", () =>
  setState({ zones: [...state.zones, { name: "Home", latitude: 0, longitude: 0, radiusMeters: 500 }] }));
ui.saveZones.addEventListener("click", saveZones);
wireSignOut();
requireUser().then(async () => {
  const [shares, zones] = await Promise.all([getJson(SHARES), getJson(ZONES)]);
  setState({ shares, zones });
  await loadTrips();
});
