// Small DOM helpers shared by the views.

/** Builds an element: h('button', {class: 'x', onclick: f}, 'text', child). */
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * Replaces the content of `root` with `nodes`, keeping the keyboard focus on the element with
 * the same `data-key` (a live refresh must not throw a keyboard user back to the page top),
 * and the open/closed state of <details> with a `data-key`.
 */
export function replace(root, nodes) {
  const active = document.activeElement;
  const key = active && root.contains(active) ? active.dataset.key : undefined;
  const open = new Set([...root.querySelectorAll('details[data-key]')].filter((d) => d.open).map((d) => d.dataset.key));
  const closed = new Set([...root.querySelectorAll('details[data-key]')].filter((d) => !d.open).map((d) => d.dataset.key));
  root.replaceChildren(...[nodes].flat().filter(Boolean));
  for (const d of root.querySelectorAll('details[data-key]')) {
    if (open.has(d.dataset.key)) d.open = true;
    else if (closed.has(d.dataset.key)) d.open = false;
  }
  if (key) {
    const again = root.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

/** The last segment of an ARM id. */
export const lastSegment = (id) => (id || '').split('/').filter(Boolean).pop() || '';

/** `…/resourceGroups/demo/providers/Microsoft.X/y/name` → `demo/name`-style short label. */
export function shortScope(scope) {
  if (!scope) return '';
  const s = scope.split('/').filter(Boolean);
  if (s.length === 2 && s[0].toLowerCase() === 'subscriptions') return `subscription ${s[1].slice(0, 8)}…`;
  if (s.length === 4 && s[2].toLowerCase() === 'resourcegroups') return `resource group ${s[3]}`;
  const p = s.map((x) => x.toLowerCase()).lastIndexOf('providers');
  if (p >= 0 && s.length >= p + 4) return `${s[p + 2]} ${s[s.length - 1]}`;
  return scope;
}

export function time(t) {
  if (!t) return '';
  return t.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

/** Announces a message to screen readers and shows it briefly. */
export function say(message, bad = false) {
  const a = document.getElementById('announce');
  if (a) a.textContent = message;
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = message;
  t.className = bad ? 'bad' : '';
  t.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 4000);
}

/** Changes between two JSON values: [{path, before, after}], `undefined` where absent. */
export function diff(before, after, path = '', out = []) {
  const isObj = (v) => v !== null && typeof v === 'object';
  if (isObj(before) && isObj(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of keys) {
      const p = Array.isArray(before) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      diff(before[k], after[k], p, out);
    }
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    out.push({ path: path || '(whole resource)', before, after });
  }
  return out;
}

export const json = (v) => (v === undefined ? '—' : JSON.stringify(v));
