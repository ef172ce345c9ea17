// The settings page's location-history section: upload, list and delete tracks; the camera
// clock offset; and the review of estimated positions, written to Immich only when chosen
// (and undone). Works on its own card; the Immich settings form is another module's.
import { ApiError, authImage, deleteJson, getJson, postForm, postJson, putJson, withSize } from "./api.js";
import { customRange, formatDay, toDayValue, toIsoUtc } from "./dates.js";
import { el } from "./dom.js";

const TRACKS = "/api/users/me/tracks";
const $ = (id) => document.getElementById(id);
const statusBox = $("tracks-status");
const table = $("tracks-table");
const offsetInput = $("clock-offset");
const estimateList = $("estimate-list");
const appliedList = $("applied-list");
const applyButton = $("apply-estimates");

function say(kind, message) {
  statusBox.replaceChildren();
  if (message) statusBox.append(el("p", { class: `notice notice--${kind}` }, message));
}

function failed(error) {
  say("error", error instanceof ApiError ? error.message : "Something went wrong.");
}

async function loadTracks() {
  const tracks = await getJson(TRACKS);
  const body = table.querySelector("tbody");
  body.replaceChildren();
  table.hidden = !tracks.length;
  for (const track of tracks) {
    const row = el("tr");
    const remove = el("button", { class: "button button--quiet" }, "Delete");
    remove.type = "button";
    remove.addEventListener("click", async () => {
      try {
        await deleteJson(`${TRACKS}/${track.id}`);
        say("info", `Deleted “${track.name}”.`);
        await refresh();
      } catch (error) {
        failed(error);
      }
    });
    const cell = el("td");
    cell.append(remove);
    row.append(el("td", {}, track.name), el("td", {}, formatDay(new Date(track.startedAt))),
      el("td", {}, formatDay(new Date(track.endedAt))), el("td", {}, track.pointCount.toLocaleString()), cell);
    body.append(row);
  }
}

async function loadClock() {
  const clock = await getJson(`${TRACKS}/settings`);
  offsetInput.value = clock.cameraClockOffsetSeconds ?? "";
  $("clock-hint").textContent = clock.fittedOffsetSeconds === null
    ? "Empty: fitted automatically once photos with GPS lie along a track."
    : `Empty: fitted automatically — now ${clock.fittedOffsetSeconds} s, from ${clock.fittedFromPhotos} photos with GPS.`;
}

async function refresh() {
  try {
    await Promise.all([loadTracks(), loadClock()]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      say("info", "Set up your Immich server above before adding tracks.");
    } else {
      failed(error);
    }
  }
}

function photoCard(photo, { checkbox, text }) {
  const item = el("li");
  const label = el("label", { class: "estimate" });
  if (checkbox) label.append(checkbox);
  label.append(authImage(withSize(photo.thumbnailUrl, "thumbnail"), { alt: photo.originalFileName || "" }));
  label.append(el("span", {}, text));
  item.append(label);
  return item;
}

async function review(event) {
  if (event) event.preventDefault();
  const range = customRange($("review-from").value, $("review-to").value);
  if (!range || range.error) {
    say("error", range ? range.error : "Choose the dates to review.");
    return;
  }
  const params = new URLSearchParams({ startDate: toIsoUtc(range.start), endDate: toIsoUtc(range.end) });
  try {
    const data = await getJson(`${TRACKS}/estimates?${params}`);
    estimateList.replaceChildren();
    for (const photo of data.photos) {
      const box = el("input");
      box.type = "checkbox";
      box.value = photo.id;
      box.checked = true;
      const guess = photo.estimatedLocation;
      estimateList.append(photoCard(photo, { checkbox: box, text: `${photo.originalFileName || "Photo"} · estimated ±${guess.accuracyMeters} m` }));
    }
    applyButton.hidden = !data.photos.length;
    if (!data.photos.length) say("info", "No photo without GPS in these dates lies along a track.");
    appliedList.replaceChildren();
    $("applied-title").hidden = !data.applied.length;
    for (const written of data.applied) {
      const undo = el("button", { class: "button button--quiet" }, "Undo");
      undo.type = "button";
      undo.addEventListener("click", () => act("undo", [written.photoId]));
      const item = el("li", {}, `${written.latitude.toFixed(5)}, ${written.longitude.toFixed(5)} · ${formatDay(new Date(written.appliedAt))} `);
      item.append(undo);
      appliedList.append(item);
    }
  } catch (error) {
    failed(error);
  }
}

async function act(action, photoIds) {
  try {
    const result = await postJson(`${TRACKS}/estimates/${action}`, { photoIds });
    const done = (result.applied || result.restored).length;
    const skipped = result.skipped.map((s) => s.reason).join("; ");
    say("info", `${action === "apply" ? "Written" : "Put back"}: ${done}.${skipped ? ` Skipped: ${skipped}.` : ""}`);
    await review();
  } catch (error) {
    failed(error);
  }
}

$("track-upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("track-file").files[0];
  if (!file) {
    say("error", "Choose a track file first.");
    return;
  }
  const button = $("track-upload-button");
  button.disabled = true;
  say("info", `Reading ${file.name}…`);
  try {
    const form = new FormData();
    form.append("file", file);
    const track = await postForm(TRACKS, form);
    say("success", `Imported “${track.name}”: ${track.pointCount.toLocaleString()} points.`);
    $("track-file").value = "";
    await refresh();
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
});

$("clock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const raw = offsetInput.value.trim();
  try {
    await putJson(`${TRACKS}/settings`, { cameraClockOffsetSeconds: raw === "" ? null : Number(raw) });
    say("success", raw === "" ? "The offset is fitted automatically." : "Offset saved.");
    await loadClock();
  } catch (error) {
    failed(error);
  }
});

$("review-form").addEventListener("submit", review);
applyButton.addEventListener("click", () => {
  const chosen = [...estimateList.querySelectorAll("input:checked")].map((box) => box.value);
  if (chosen.length) act("apply", chosen.slice(0, 500));
});

const today = new Date();
$("review-to").value = toDayValue(today);
$("review-from").value = toDayValue(new Date(today.getTime() - 30 * 86_400_000));
// Tracks belong to the Immich settings: the settings section says when they exist.
document.addEventListener("immich-settings", (event) => {
  if (event.detail.configured) {
    refresh();
  } else {
    table.hidden = true;
    say("info", "Set up your Immich server above before adding tracks.");
  }
});
