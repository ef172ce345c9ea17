// When a map page asks for its view's clusters: once a pan or zoom has stopped, and during a
// scrubber drag at once, then at most every so often. Shared by the owner's and a share's map.

export class ViewScheduler {
  /** run(throttled) asks for the view; it is called at most once per schedule. */
  constructor(run) {
    this.run = run;
    this.timer = 0;
    this.throttled = false;
    this.lastThrottled = -Infinity; // when a throttled run last happened
  }

  /**
   * Run after `delay` ms. A throttled call (a drag) runs at once, then at most every `delay`
   * ms while it lasts (a timer already set stays, and the run reads the state as it is when
   * it fires); any other call starts the wait again, so a pan asks once it has stopped.
   */
  schedule(delay, { throttle = false } = {}) {
    if (throttle && this.timer && this.throttled) return;
    window.clearTimeout(this.timer);
    this.throttled = throttle;
    const wait = throttle ? Math.max(0, this.lastThrottled + delay - performance.now()) : delay;
    this.timer = window.setTimeout(() => {
      this.timer = 0;
      if (throttle) this.lastThrottled = performance.now();
      this.run(throttle);
    }, wait);
  }

  /** Forget a run not yet made: the view is being asked for now instead. */
  cancel() {
    window.clearTimeout(this.timer);
    this.timer = 0;
  }
}
