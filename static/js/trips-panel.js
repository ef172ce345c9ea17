// The trips found in the library, listed beside the map: choosing one opens the map on its
// dates and extent (through onOpen), and each offers to share it. Hidden when there are none
// or the index is off.
import { getJson } from "./api.js";
import { formatDay } from "./dates.js";
import { el } from "./dom.js";

const TRIPS_URL = "/api/users/me/trips";
const SHARES_PAGE = "/shares";

export class TripsPanel {
  /** options: onOpen(trip) */
  constructor(container, { onOpen }) {
    this.container = container;
    this.onOpen = onOpen;
    this.list = container.querySelector("ol") || container.appendChild(el("ol"));
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
      const start = formatDay(new Date(trip.startedAt));
      const end = formatDay(new Date(trip.endedAt));
      const count = `${trip.photoCount} ${trip.photoCount === 1 ? "photo" : "photos"}`;
      const button = el(
        "button",
        { type: "button", class: "trip", "data-trip-id": trip.id },
        el("span", { class: "trip-name" }, trip.name),
        el("span", { class: "trip-when" }, `${start === end ? start : `${start} – ${end}`} · ${count}`),
      );
      button.addEventListener("click", () => this.onOpen(trip));
      // Sharing a trip goes to the shares page, where its link's expiry and precision are chosen.
      const share = el(
        "a",
        {
          class: "trip-share",
          href: `${SHARES_PAGE}?${new URLSearchParams({ trip: trip.id })}`,
          "aria-label": `Share this trip: ${trip.name}`,
        },
        "Share this trip",
      );
      const item = el("li", {}, button, share);
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
