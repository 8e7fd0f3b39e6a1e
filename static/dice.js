// The Dice view (`#/play/dice`): the player picks a stake, a target from 0.00 to 100.00 and whether the
// roll must land over or under it; one roll (`POST /api/v1/dice/roll`) decides. The track shows the
// winning side and where the roll landed; the fairness facts of the bet and a link to verify it follow.

import { byTestId, el, formatMicros } from './common.js';
import {
  failed, limitsText, message, onLogout, outcomeText, placeBet, renderFairness, stakeOf,
} from './originals.js';

/** Rolls land on 0.00 to 100.00, kept in hundredths. */
const ROLL_MAX_HUNDREDTHS = 10000;
/** Rolls of this visit listed under the track, newest first. */
const RECENT_ROLLS_MAX = 10;
const SVG = 'http://www.w3.org/2000/svg';
const TRACK_HEIGHT = 40;

const ui = {
  info: byTestId('dice-info'),
  track: byTestId('dice-track'),
  roll: byTestId('dice-roll'),
  outcome: byTestId('dice-outcome'),
  recent: byTestId('dice-recent'),
  form: byTestId('dice-form'),
  amount: byTestId('dice-amount'),
  target: byTestId('dice-target'),
  direction: byTestId('dice-direction'),
  odds: byTestId('dice-odds'),
  button: byTestId('dice-roll-button'),
  fairness: byTestId('dice-fairness'),
};

const state = { game: null, busy: false };

/** The target typed as "49.5" or "49.50", in hundredths; null when it is not one. */
function targetHundredths() {
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(ui.target.value.trim());
  if (!match) return null;
  const hundredths = Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
  return hundredths <= ROLL_MAX_HUNDREDTHS ? hundredths : null;
}

/** The win chance in hundredths of a percent: over wins above the target, under below it. */
function chanceHundredths(target, direction) {
  return direction === 'over' ? ROLL_MAX_HUNDREDTHS - target : target;
}

function hundredthsText(hundredths) {
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
}

/** The chance and, with the game's declared RTP, the multiplier: (RTP) / chance, rounded down. */
function renderOdds() {
  const target = targetHundredths();
  if (target === null) {
    ui.odds.textContent = 'Enter a target from 0.00 to 100.00 (at most two decimals).';
    return;
  }
  const chance = chanceHundredths(target, ui.direction.value);
  let text = `Win chance ${hundredthsText(chance)} %`;
  if (state.game && chance > 0) text += ` · pays about ${hundredthsText(Math.floor((Number(state.game.rtp_bps) * 100) / chance))}x`;
  ui.odds.textContent = text;
  drawTrack(target, ui.direction.value, null);
}

function svg(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** The 0–100 track: the winning side in green, the roll (when there is one) as a marker. */
function drawTrack(target, direction, roll) {
  const winFrom = direction === 'over' ? target : 0;
  const winTo = direction === 'over' ? ROLL_MAX_HUNDREDTHS : target;
  const drawing = svg('svg', {
    viewBox: `0 0 ${ROLL_MAX_HUNDREDTHS} ${TRACK_HEIGHT}`, preserveAspectRatio: 'none', class: 'dice-track-svg', role: 'img',
    'aria-label': `wins ${direction} ${hundredthsText(target)}`,
  });
  drawing.append(svg('rect', { x: 0, y: 10, width: ROLL_MAX_HUNDREDTHS, height: 20, class: 'dice-lose' }));
  drawing.append(svg('rect', { x: winFrom, y: 10, width: Math.max(0, winTo - winFrom), height: 20, class: 'dice-win' }));
  if (roll !== null) drawing.append(svg('rect', { x: Math.max(0, roll - 40), y: 0, width: 80, height: TRACK_HEIGHT, class: 'dice-marker' }));
  ui.track.replaceChildren(drawing);
}

async function roll(submitEvent) {
  submitEvent.preventDefault();
  if (state.busy) return;
  const target = targetHundredths();
  let amount;
  try {
    amount = stakeOf(ui.amount);
    if (target === null) throw new Error('enter a target from 0.00 to 100.00 (at most two decimals)');
  } catch (error) {
    message.show(error.message);
    return;
  }
  state.busy = true;
  ui.button.disabled = true;
  try {
    const answer = await placeBet('/api/v1/dice/roll', { amount, target: target / 100, direction: ui.direction.value });
    showRoll(answer.bet);
  } catch (error) {
    failed(error);
  } finally {
    state.busy = false;
    ui.button.disabled = false;
  }
}

function showRoll(bet) {
  const result = bet.result || {};
  const rollHundredths = Math.round(Number(result.roll) * 100);
  const target = Math.round(Number(result.target) * 100);
  drawTrack(target, result.direction, rollHundredths);
  ui.roll.textContent = hundredthsText(rollHundredths);
  Object.assign(ui.roll.dataset, {
    state: result.won ? 'won' : 'lost', roll: String(result.roll), betId: bet.id, payout: String(bet.payout ?? 0),
  });
  ui.roll.className = `dice-roll ${result.won ? 'positive' : 'negative'}`;
  ui.outcome.textContent = `Rolled ${hundredthsText(rollHundredths)}, ${result.direction} ${hundredthsText(target)} `
    + `(${result.multiplier}x): ${outcomeText(bet)}`;
  ui.recent.prepend(el('li', { class: result.won ? 'positive' : 'negative', dataset: { testid: 'dice-recent-roll' } },
    `${hundredthsText(rollHundredths)} · ${result.won ? '+' : '-'}${formatMicros(result.won ? bet.payout : bet.amount)}`));
  while (ui.recent.children.length > RECENT_ROLLS_MAX) ui.recent.lastChild.remove();
  renderFairness(ui.fairness, bet);
}

window.addEventListener('gc:view', (event) => {
  if (event.detail.view !== 'dice') return;
  state.game = event.detail.game || null;
  ui.info.textContent = limitsText(state.game);
  renderOdds();
});
ui.form.addEventListener('submit', roll);
// The next player starts without the last one's rolls.
onLogout(() => {
  ui.roll.textContent = '–';
  ui.roll.className = 'dice-roll';
  ui.roll.dataset.state = 'none';
  ui.outcome.textContent = '';
  ui.recent.replaceChildren();
  renderFairness(ui.fairness, null);
});
ui.target.addEventListener('input', renderOdds);
ui.direction.addEventListener('change', renderOdds);
