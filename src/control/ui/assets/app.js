// The dashboard's shell: tabs, the live connection, and the shared state the views render.
import { get, stream } from './api.js';
import { say } from './dom.js';
import * as story from './story.js';
import * as resources from './resources.js';
import * as access from './access.js';
import * as timeline from './timeline.js';
import * as controls from './controls.js';

const VIEWS = { story, resources, access, timeline, controls };
const JOURNAL_KEPT = 3000;

const state = {
  resources: null, // /_azemu/ui/api/resources
  clusters: null, // /_azemu/ui/api/clusters
  access: null, // /_azemu/ui/api/access
  journal: [], // request journal entries, oldest first
  events: [], // activity log entries, oldest first
  filter: '', // the timeline's resource filter
  live: false,
};

const ctx = {
  state,
  /** Operations the page itself is following (pool id → {status}). */
  busy: new Map(),
  refresh: () => scheduleRefresh(0),
  render: () => renderActive(),
  show,
};

let active = 'story';
let refreshTimer = null;
let refreshing = null;

function scheduleRefresh(delay = 120) {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, delay);
}

async function refresh() {
  if (refreshing) { await refreshing; return scheduleRefresh(0); }
  refreshing = (async () => {
    try {
      const [r, c, a] = await Promise.all([
        get('/_azemu/ui/api/resources'), get('/_azemu/ui/api/clusters'), get('/_azemu/ui/api/access'),
      ]);
      Object.assign(state, { resources: r, clusters: c, access: a });
      header();
      renderActive();
    } catch (e) {
      say(`Could not read azemu: ${e.message}`, true);
    }
  })();
  await refreshing;
  refreshing = null;
}

function header() {
  const r = state.resources;
  if (!r) return;
  const clock = document.getElementById('clock');
  clock.textContent = `${r.time.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC')}${r.virtualClock ? ' (virtual clock)' : ''}`;
  const live = document.getElementById('live');
  const text = state.live ? (r.enforceRbac ? 'live · RBAC enforced' : 'live') : 'reconnecting…';
  // A status region: change it only when the state changes, so screen readers say it once.
  if (live.textContent !== text) live.textContent = text;
  live.className = `live ${state.live ? 'on' : 'off'}`;
}

function renderActive() {
  const root = document.getElementById(`view-${active}`);
  try {
    VIEWS[active].render(root, ctx);
  } catch (e) {
    console.error(e);
    say(`The ${active} view failed: ${e.message}`, true);
  }
}

function show(name, { focus = false } = {}) {
  if (!VIEWS[name]) name = 'story';
  active = name;
  for (const tab of document.querySelectorAll('[role=tab]')) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on && focus) tab.focus();
  }
  for (const panel of document.querySelectorAll('[role=tabpanel]')) panel.hidden = panel.id !== `view-${name}`;
  if (location.hash.slice(1) !== name) history.replaceState(null, '', `#${name}`);
  renderActive();
}

function tabs() {
  const list = [...document.querySelectorAll('[role=tab]')];
  for (const [i, tab] of list.entries()) {
    tab.addEventListener('click', () => show(tab.id.slice(4)));
    tab.addEventListener('keydown', (e) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: list.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      show(list[(to + list.length) % list.length].id.slice(4), { focus: true });
    });
  }
  window.addEventListener('hashchange', () => show(location.hash.slice(1)));
}

function projector() {
  const button = document.getElementById('projector');
  const set = (on) => {
    document.documentElement.classList.toggle('projector', on);
    button.setAttribute('aria-pressed', String(on));
    try { localStorage.setItem('azemu-projector', on ? '1' : ''); } catch { /* private mode */ }
  };
  const q = new URLSearchParams(location.search);
  let stored = '';
  try { stored = localStorage.getItem('azemu-projector') || ''; } catch { /* private mode */ }
  set(q.has('projector') ? q.get('projector') !== '0' : stored === '1');
  button.addEventListener('click', () => set(!document.documentElement.classList.contains('projector')));
  document.addEventListener('keydown', (e) => {
    if (e.key.toLowerCase() !== 'l' || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest('input, select, textarea')) return;
    set(!document.documentElement.classList.contains('projector'));
  });
}

let arrival = 0;
/** Marks the order items happened in (the timeline sorts by it). */
const stamp = (x) => { x.order = ++arrival; return x; };

/**
 * Reads the timeline and puts requests and events in one order: each event right after the
 * request it belongs to (same correlation id), the others where they fall between.
 */
async function loadTimeline() {
  const t = await get('/_azemu/ui/api/timeline');
  const firstOf = new Map();
  t.journal.forEach((j, i) => { if (!firstOf.has(j.correlationId)) firstOf.set(j.correlationId, i); });
  let next = 0;
  for (const e of t.events) {
    const at = e.correlationId ? firstOf.get(e.correlationId) : undefined;
    while (at !== undefined && next <= at) stamp(t.journal[next++]);
    stamp(e);
  }
  while (next < t.journal.length) stamp(t.journal[next++]);
  state.journal = t.journal;
  state.events = t.events;
  return { journal: t.journalSequence, events: t.eventsSequence };
}

function connect(from) {
  stream(from, (kind, data) => {
    if (kind === 'journal') {
      state.journal.push(stamp(data));
      if (state.journal.length > JOURNAL_KEPT) state.journal.splice(0, state.journal.length - JOURNAL_KEPT);
    } else if (kind === 'event') {
      state.events.push(stamp(data));
    } else if (kind === 'reset') {
      loadTimeline().then(() => scheduleRefresh(0));
      return;
    } else if (kind === 'hello') {
      return;
    }
    if (active === 'timeline') timeline.render(document.getElementById('view-timeline'), ctx);
    scheduleRefresh();
  }, (on) => {
    state.live = on;
    header();
    if (on) scheduleRefresh(0);
  });
}

async function main() {
  tabs();
  projector();
  active = VIEWS[location.hash.slice(1)] ? location.hash.slice(1) : 'story';
  show(active);
  const from = await loadTimeline().catch(() => ({ journal: 0, events: 0 }));
  await refresh();
  connect(from);
  document.body.dataset.ready = 'true';
}

main();
