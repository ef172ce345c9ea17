// The trips found in the library, listed beside the map: choosing one opens the map on its
// dates and extent (through onOpen), and each offers to share it. Hidden when there are none
// or the index is off.
import { getJson } from "./api.js";
import { formatDay } from "./dates.js";

const TRIPS_URL = "/api/users/me/trips";
const SHARES_PAGE = "/shares";

export class TripsPanel {
  /** options: onOpen(trip) */
  constructor(container, { onOpen }) {
    this.container = container;
    this.onOpen = onOpen;
    this.list = container.querySelector("ol") || container.appendChild(document.createElement("ol"));
    this.list.className = "trips-list";
    this.container.hidden = true;
  }

  async load() {
    let trips = [];
    try {
      trips = await getJson(TRIPS_URL);
    } catch {
      trips = [];
    }
    this.render(trips);
  }

  render(trips) {
    this.list.replaceChildren();
    this.container.hidden = !trips.length;
    for (const trip of trips) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "trip";
      button.dataset.tripId = trip.id;
      const name = document.createElement("span");
      name.className = "trip-name";
      name.textContent = trip.name;
      const when = document.createElement("span");
      when.className = "trip-when";
      const start = formatDay(new Date(trip.startedAt));
      const end = formatDay(new Date(trip.endedAt));
      const count = `${trip.photoCount} ${trip.photoCount === 1 ? "photo" : "photos"}`;
      when.textContent = `${start === end ? start : `${start} – ${end}`} · ${count}`;
      button.append(name, when);
      button.addEventListener("click", () => this.onOpen(trip));
      // Sharing a trip goes to the shares page, where its link's expiry and precision are chosen.
      const share = document.createElement("a");
      share.className = "trip-share";
      share.href = `${SHARES_PAGE}?${new URLSearchParams({ trip: trip.id })}`;
      share.textContent = "Share this trip";
      share.setAttribute("aria-label", `Share this trip: ${trip.name}`);
      const item = document.createElement("li");
      item.append(button, share);
      this.list.append(item);
    }
  }
}

/** A trip's [west, south, east, north] as the map frames a box: east past 180 across the antimeridian. */
export function tripFrame(bbox) {
  if (!bbox) return null;
  const [west, south, east, north] = bbox;
  return { west, south, east: east < west ? east + 360 : east, north };
}
