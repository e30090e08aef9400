// The timeline: the request journal and the activity log, newest first, live, filterable by
// resource; each write shows the resource before and after.
import { diff, h, json, lastSegment, replace, time } from './dom.js';

const SHOWN = 300;
const opts = { requests: true, events: true, writesOnly: false };
let ui = null;

export function render(root, ctx) {
  if (!ui || !root.contains(ui.list)) build(root, ctx);
  if (document.activeElement !== ui.filter) ui.filter.value = ctx.state.filter;
  const ids = new Set(((ctx.state.resources && ctx.state.resources.items) || []).map((i) => i.id));
  if (ui.datalist.dataset.count !== String(ids.size)) {
    ui.datalist.replaceChildren(...[...ids].map((id) => h('option', { value: id })));
    ui.datalist.dataset.count = String(ids.size);
  }
  draw(ctx);
}

function build(root, ctx) {
  const check = (key, label) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', checked: opts[key], dataset: { key: `tl-${key}` }, onchange: (e) => { opts[key] = e.target.checked; draw(ctx); } }), label);
  ui = {
    filter: h('input', {
      id: 'tl-filter', type: 'search', size: 60, list: 'tl-resources', placeholder: 'a resource id or any part of a path',
      dataset: { key: 'tl-filter' }, oninput: (e) => { ctx.state.filter = e.target.value; draw(ctx); },
    }),
    datalist: h('datalist', { id: 'tl-resources' }),
    count: h('p', { class: 'muted', 'aria-live': 'polite' }),
    list: h('ol', { class: 'timeline', 'aria-label': 'Requests and events, newest first' }),
  };
  replace(root, h('div', { class: 'panel' },
    h('h2', {}, 'Timeline'),
    h('div', { class: 'filters', role: 'search' },
      h('div', { class: 'field' }, h('label', { for: 'tl-filter' }, 'Filter by resource'), ui.filter), ui.datalist,
      check('requests', 'Requests'), check('events', 'Events'), check('writesOnly', 'Writes only'),
      h('button', { type: 'button', class: 'secondary', dataset: { key: 'tl-clear' }, onclick: () => { ctx.state.filter = ''; ui.filter.value = ''; draw(ctx); } }, 'Clear the filter')),
    ui.count, ui.list));
}

const isWrite = (e) => ['PUT', 'PATCH', 'DELETE', 'POST'].includes(e.method);

function draw(ctx) {
  const f = ctx.state.filter.trim().toLowerCase();
  const items = [];
  if (opts.requests) {
    for (const e of ctx.state.journal) {
      if (opts.writesOnly && !isWrite(e)) continue;
      if (f && !e.path.toLowerCase().includes(f)) continue;
      items.push({ o: e.order, e });
    }
  }
  if (opts.events && !opts.writesOnly) {
    for (const e of ctx.state.events) {
      if (f && !(e.resourceId || '').toLowerCase().includes(f) && !(f.startsWith(lowerOf(e.resourceId)))) continue;
      items.push({ o: e.order, ev: e });
    }
  }
  items.sort((a, b) => b.o - a.o);
  ui.count.textContent = `${items.length} item${items.length === 1 ? '' : 's'}${items.length > SHOWN ? `, the newest ${SHOWN} shown` : ''}${f ? ` about “${ctx.state.filter}”` : ''}.`;
  replace(ui.list, items.slice(0, SHOWN).map((i) => (i.e ? request(i.e) : event(i.ev))));
}

const lowerOf = (s) => (s || '').toLowerCase() || '\u0000';

function request(e) {
  const failed = e.status >= 400;
  const write = isWrite(e);
  const cls = failed ? 'failed' : write ? 'write' : '';
  return h('li', { class: cls, dataset: { seq: e.sequence, method: e.method } },
    h('div', { class: 'tl-head' },
      h('span', { class: 'tl-time' }, time(e.time)),
      h('span', { class: 'method' }, e.method),
      h('span', { class: failed ? 'st-bad' : 'st-ok' }, e.status),
      h('code', {}, e.path),
      h('span', { class: 'muted' }, `${e.apiVersion ? `api-version ${e.apiVersion} · ` : ''}${e.durationMs} ms`)),
    write ? change(e) : null);
}

function change(e) {
  const hasBefore = e.before !== undefined && e.before !== null;
  const hasAfter = e.after !== undefined && e.after !== null;
  if (!hasBefore && !hasAfter) {
    if (e.requestBody === undefined || e.requestBody === null) return null;
    return h('details', { dataset: { key: `j${e.sequence}` } }, h('summary', {}, 'Request body'),
      h('pre', { class: 'json' }, JSON.stringify(e.requestBody, null, 2)));
  }
  if (!hasBefore) {
    return h('details', { dataset: { key: `j${e.sequence}` } }, h('summary', {}, `Created ${lastSegment(e.path)}`),
      h('pre', { class: 'json' }, JSON.stringify(e.after, null, 2)));
  }
  if (!hasAfter) return h('p', { class: 'muted' }, `Deleted ${lastSegment(e.path)}.`);
  const changes = diff(e.before, e.after);
  if (!changes.length) return h('p', { class: 'muted' }, 'No change to the resource.');
  return h('details', { dataset: { key: `j${e.sequence}`, testid: 'diff' } },
    h('summary', {}, `Before → after: ${changes.length} change${changes.length === 1 ? '' : 's'}`),
    h('table', { class: 'diff' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Property'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'))),
      h('tbody', {}, changes.map((c) => h('tr', {},
        h('td', {}, c.path), h('td', { class: 'del' }, json(c.before)), h('td', { class: 'add' }, json(c.after)))))));
}

function event(e) {
  return h('li', { class: 'event', dataset: { kind: e.kind } },
    h('div', { class: 'tl-head' },
      h('span', { class: 'tl-time' }, time(e.time)),
      h('span', { class: 'badge info' }, e.kind),
      h('span', {}, e.message),
      h('span', { class: 'muted' }, lastSegment(e.resourceId))));
}
