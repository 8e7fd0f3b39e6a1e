// The crash curve on the client, shared by the player page (play.js) and the dashboard (admin.js): the
// server's formula, a clock that follows a running round from the server's readings (ticks, snapshots),
// and the live chart that draws the curve at display rate from the round's start.
//
// Ticks come every `tick_interval_ms` (150 ms by default); between them the page computes the curve
// itself, so it moves at the screen's rate whatever the tick interval. Each reading says how far the
// round is (`elapsed_ms`); the page keeps the local moment the round started (its origin) so that
// `now - origin` is the elapsed time to show.

import { axis, chartWidth, COLORS, unwatchResize, watchResize } from './common.js';

/** The curve's growth per millisecond, as the server's src/fair/crash.rs (2x after about 11.55 s). */
const GROWTH_PER_MS = 0.00006;
/** 1.00x and 1,000,000x in hundredths: the curve's floor and the server's cap. */
export const MULTIPLIER_MIN = 100;
export const MULTIPLIER_MAX = 100000000;
/** What a page assumes until the room's state says otherwise (config/default.toml ships this). */
const TICK_INTERVAL_DEFAULT_MS = 150;
/** Without a tick for max(this, 2 tick intervals) the curve freezes and shows itself stalled. */
const STALL_FLOOR_MS = 300;
/**
 * A reading later than the clock expects (a delayed frame, or a clock that runs ahead) moves the origin by
 * this share only: one late frame must not pull the curve back. An earlier one is taken whole (below).
 */
const LATE_READING_WEIGHT = 0.1;
/** Points the chart draws across the round, however long it is (each frame recomputes them). */
const CURVE_POINTS_MAX = 200;

/**
 * The multiplier in hundredths `elapsedMs` after the round started, computed exactly as the server does:
 * the elapsed time in whole milliseconds, `floor(100 · e^(0.00006 · t))` in doubles, capped at
 * 1,000,000x. tests/fixtures/crash_curve.json holds the server's values the browser tests compare to.
 */
export function multiplierAt(elapsedMs) {
  const wholeMs = Math.max(0, Math.floor(Number(elapsedMs) || 0));
  const value = Math.floor(100 * Math.exp(GROWTH_PER_MS * wholeMs));
  return value >= MULTIPLIER_MAX ? MULTIPLIER_MAX : value;
}

/** A multiplier the server sent as a decimal (2.08) in whole hundredths (208). */
export function hundredthsOf(value) {
  const number = Number(value);
  return Number.isFinite(number) ? Math.round(number * 100) : MULTIPLIER_MIN;
}

/** Hundredths as players read them: 208 as "2.08x", with no float rounding in between. */
export function formatHundredths(hundredths) {
  const whole = Math.floor(hundredths / 100);
  return `${whole}.${String(hundredths % 100).padStart(2, '0')}x`;
}

/** How long without a tick before a running curve freezes. */
export function stallAfterMs(tickIntervalMs) {
  return Math.max(STALL_FLOOR_MS, 2 * tickIntervalMs);
}

/**
 * Follows one running round from the server's readings. All times are local `performance.now()`
 * milliseconds passed in by the caller, so the rules stay pure:
 * - a reading `elapsedMs` received at `nowMs` says the round started no later than `nowMs - elapsedMs`
 *   (the frame took some time to arrive), so the origin never moves earlier than the earliest such
 *   bound: the page never shows more than the server has reached, nor a crash point it was not told of;
 * - a reading that shows the page behind moves the curve forward at once; a later one moves it back by
 *   LATE_READING_WEIGHT only, and the display never goes backwards (it waits for the clock instead);
 * - without a reading for stallAfterMs the curve freezes at what it showed then; the next reading
 *   replaces the origin whole (the truth, after a gap);
 * - a crash ends the round at the crash point the server sent.
 */
export class RoundClock {
  constructor() {
    this.tickIntervalMs = TICK_INTERVAL_DEFAULT_MS;
    this.clear(null);
  }

  /** Forgets the round (a new one, or none). */
  clear(roundId) {
    this.roundId = roundId ?? null;
    this.originMs = null;
    this.lastHeardMs = null;
    this.shownMs = 0;
    this.crash = null;
  }

  setTickInterval(tickIntervalMs) {
    const value = Number(tickIntervalMs);
    if (Number.isFinite(value) && value > 0) this.tickIntervalMs = value;
  }

  /** A reading of the round `roundId`: `elapsedMs` since its start, received at `nowMs`. */
  observe(roundId, elapsedMs, nowMs) {
    if (roundId !== this.roundId) this.clear(roundId);
    const elapsed = Number(elapsedMs);
    if (this.crash !== null || !Number.isFinite(elapsed) || elapsed < 0) return;
    const origin = nowMs - elapsed;
    if (this.originMs === null || this.isStalled(nowMs) || origin < this.originMs) this.originMs = origin;
    else this.originMs += (origin - this.originMs) * LATE_READING_WEIGHT;
    this.lastHeardMs = nowMs;
    this.shownMs = Math.max(this.shownMs, Math.floor(elapsed));
  }

  /** The round crashed at `hundredths` after `elapsedMs` (or where it was shown, when unknown). */
  crashAt(roundId, elapsedMs, hundredths) {
    if (roundId !== this.roundId) this.clear(roundId);
    const elapsed = Number(elapsedMs);
    this.crash = { elapsedMs: Number.isFinite(elapsed) ? elapsed : this.shownMs, hundredths };
  }

  /** True while a started, uncrashed round has gone without a reading for too long. */
  isStalled(nowMs) {
    return this.crash === null && this.lastHeardMs !== null && nowMs - this.lastHeardMs > stallAfterMs(this.tickIntervalMs);
  }

  /** What to show at `nowMs`: {elapsedMs, hundredths, stalled, crashed}. */
  read(nowMs) {
    if (this.crash !== null) {
      return { elapsedMs: this.crash.elapsedMs, hundredths: this.crash.hundredths, stalled: false, crashed: true };
    }
    if (this.originMs !== null) {
      // Frozen at the moment the stall began, until the next reading.
      const heardUntil = Math.min(nowMs, this.lastHeardMs + stallAfterMs(this.tickIntervalMs));
      this.shownMs = Math.max(this.shownMs, Math.floor(heardUntil - this.originMs));
    }
    return { elapsedMs: this.shownMs, hundredths: multiplierAt(this.shownMs), stalled: this.isStalled(nowMs), crashed: false };
  }
}

/**
 * The live curve of one room in `container`: x = seconds since the round started, y = multiplier. The
 * page passes the room's events on: reset(roundId) for betting or no round, follow(roundId, elapsedMs)
 * for a snapshot of a running round, tick(event), crashed(roundId, elapsedMs, crashPoint); it draws once
 * per animation frame while the round runs and calls onFrame({hundredths, stalled, crashed}) after each
 * draw, for the page's big number. The container carries what tests and people can check:
 * data-ticks (ticks received since the page opened) with the last one's data-tick-elapsed-ms and
 * data-tick-multiplier, data-round, and what the last frame showed: data-multiplier ("2.08"),
 * data-elapsed-ms, data-stalled, data-crashed and data-frames (frames drawn).
 */
export function createCurve(container, { height = 260, onFrame = () => {} } = {}) {
  const clock = new RoundClock();
  const xs = [];
  const ys = [];
  let ticks = 0;
  let frames = 0;
  let frameRequest = null;
  const crashed = () => clock.crash !== null;
  const opts = {
    width: chartWidth(container),
    height,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      x: { time: false, range: (u, min, max) => [0, Math.max(10, Math.ceil((max || 0) * 1.1))] },
      y: { range: (u, min, max) => [1, Math.max(2, Math.ceil((max || 1) * 1.15 * 10) / 10)] },
    },
    axes: [
      axis({ values: (u, splits) => splits.map((value) => `${value}s`) }),
      axis({ values: (u, splits) => splits.map((value) => `${value.toFixed(2)}x`), size: 60 }),
    ],
    series: [
      {},
      { stroke: () => (crashed() ? COLORS.crashed : COLORS.accent), width: 3,
        fill: () => (crashed() ? 'rgba(255, 84, 104, 0.12)' : 'rgba(53, 208, 127, 0.12)') },
    ],
  };
  const plot = new uPlot(opts, [xs, ys], container);

  /**
   * The curve from the start to `elapsedMs`. The line is the smooth e^(0.00006 t) (the floored values
   * would draw as stairs); the number shown is the floored one, and a crashed curve ends at the crash
   * point, below the line by less than 0.01.
   */
  function sample(elapsedMs, crashHundredths) {
    xs.length = 0;
    ys.length = 0;
    if (elapsedMs <= 0) return;
    const steps = CURVE_POINTS_MAX - 1;
    for (let step = 0; step <= steps; step += 1) {
      const t = (elapsedMs * step) / steps;
      xs.push(t / 1000);
      ys.push(Math.exp(GROWTH_PER_MS * t));
    }
    if (crashHundredths !== null) ys[steps] = crashHundredths / 100;
  }

  function drawFrame() {
    frameRequest = null;
    const shown = clock.read(performance.now());
    // Before a round's first reading (betting, or no round) the chart is empty.
    const started = clock.originMs !== null || shown.crashed;
    sample(started ? shown.elapsedMs : 0, shown.crashed ? shown.hundredths : null);
    plot.setData([xs, ys]);
    frames += 1;
    Object.assign(container.dataset, {
      frames: String(frames),
      multiplier: formatHundredths(shown.hundredths).slice(0, -1),
      elapsedMs: String(shown.elapsedMs),
      stalled: String(shown.stalled),
      crashed: String(shown.crashed),
    });
    container.classList.toggle('curve-stalled', shown.stalled);
    onFrame(shown);
    if (clock.originMs !== null && !shown.crashed) requestFrame();
  }

  function requestFrame() {
    if (frameRequest === null) frameRequest = requestAnimationFrame(drawFrame);
  }

  const curve = {
    plot,
    /** The room's tick interval, from its state (initial_state, resync). */
    setTickInterval(tickIntervalMs) {
      clock.setTickInterval(tickIntervalMs);
    },
    /** No round running: an empty curve at 1.00x. */
    reset(roundId) {
      clock.clear(roundId);
      container.dataset.round = roundId === undefined || roundId === null ? '' : String(roundId);
      requestFrame();
    },
    /** A reading of a running round that is not a tick: its start, or a snapshot's elapsed time. */
    follow(roundId, elapsedMs) {
      if (String(roundId) !== container.dataset.round) curve.reset(roundId);
      clock.observe(roundId, elapsedMs, performance.now());
      requestFrame();
    },
    /** A tick: counts it and corrects the clock with its elapsed time. */
    tick(event) {
      curve.follow(event.round_id, event.elapsed_ms);
      ticks += 1;
      Object.assign(container.dataset, {
        ticks: String(ticks),
        tickElapsedMs: String(event.elapsed_ms),
        tickMultiplier: formatHundredths(hundredthsOf(event.multiplier)).slice(0, -1),
      });
    },
    crashed(roundId, elapsedMs, crashPoint) {
      if (String(roundId) !== container.dataset.round) curve.reset(roundId);
      clock.crashAt(roundId, elapsedMs, hundredthsOf(crashPoint));
      requestFrame();
    },
    resize() {
      plot.setSize({ width: chartWidth(container), height });
    },
    destroy() {
      if (frameRequest !== null) cancelAnimationFrame(frameRequest);
      unwatchResize(curve);
      plot.destroy();
    },
  };
  container.dataset.ticks = '0';
  curve.reset(null);
  watchResize(curve);
  return curve;
}
