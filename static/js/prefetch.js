// Photos fetched ahead of need, a few at a time, so the next one shows at once. What arrives
// stays in the browser's HTTP cache (the app sends Cache-Control: private, max-age=3600), and
// an <img> or fetch of the same URL later is answered from there.

const IN_FLIGHT = 6;
const REMEMBERED = 500;

async function load(url, signal) {
  const response = await fetch(url, { credentials: "same-origin", signal });
  if (!response.ok) throw new Error(`prefetch answered ${response.status}`);
  await response.blob(); // read to the end, or the cache keeps nothing
}

export class Prefetcher {
  constructor({ inFlight = IN_FLIGHT, fetchUrl = load } = {}) {
    this.inFlight = inFlight;
    this.fetchUrl = fetchUrl;
    this.waiting = []; // most wanted first
    this.running = new Map(); // url -> AbortController
    this.fetched = new Set(); // oldest first; forgotten beyond REMEMBERED
  }

  /** Fetch these next, in this order, instead of whatever was still waiting. */
  want(urls) {
    this.waiting = [...new Set(urls)].filter((url) => !this.running.has(url) && !this.fetched.has(url));
    this.pump();
  }

  /** Forget what is waiting and stop what is running (the viewer closed). */
  cancel() {
    this.waiting = [];
    for (const controller of this.running.values()) controller.abort();
  }

  pump() {
    while (this.running.size < this.inFlight && this.waiting.length) {
      const url = this.waiting.shift();
      const controller = new AbortController();
      this.running.set(url, controller);
      this.fetchUrl(url, controller.signal)
        .then(() => this.remember(url))
        .catch(() => {}) // a prefetch that fails costs nothing: the photo loads when shown
        .finally(() => {
          this.running.delete(url);
          this.pump();
        });
    }
  }

  remember(url) {
    this.fetched.add(url);
    if (this.fetched.size > REMEMBERED) this.fetched.delete(this.fetched.values().next().value);
  }
}
