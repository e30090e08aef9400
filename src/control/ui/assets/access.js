// The access view: principals → role assignments → scopes as a picture, the authorization
// engine's explanation of one decision (GET /_azemu/authorize), and the image pull check of
// every pool (green or red).
import { get } from './api.js';
import { h, lastSegment, replace, shortScope } from './dom.js';

const form = { principal: '', action: '', scope: '', result: null, focus: null };
let boxes = null;

const lower = (s) => (s || '').toLowerCase();
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function render(root, ctx) {
  const { access, resources, clusters } = ctx.state;
  if (!access || !resources) return replace(root, h('p', { class: 'empty' }, 'Loading role assignments…'));
  if (!boxes || !root.contains(boxes.graph)) build(root, ctx);
  if (!form.action) form.action = access.pullAction;
  drawGraph(ctx);
  fillForm(ctx);
  drawPulls(clusters);
}

function build(root, ctx) {
  boxes = {
    graph: h('div', {}),
    principal: h('select', { id: 'ex-principal', dataset: { key: 'ex-principal' }, onchange: (e) => { form.principal = e.target.value; drawGraph(ctx); } }),
    action: h('input', { id: 'ex-action', list: 'ex-actions', size: 48, dataset: { key: 'ex-action' }, oninput: (e) => { form.action = e.target.value; } }),
    scope: h('select', { id: 'ex-scope', dataset: { key: 'ex-scope' }, onchange: (e) => { form.scope = e.target.value; } }),
    result: h('div', { 'aria-live': 'polite' }),
    pulls: h('div', {}),
  };
  const actions = h('datalist', { id: 'ex-actions' },
    ['Microsoft.ContainerRegistry/registries/pull/read', 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
      'Microsoft.ContainerService/managedClusters/write', 'Microsoft.Authorization/roleAssignments/write', '*/read']
      .map((a) => h('option', { value: a })));
  replace(root, [
    h('div', { class: 'panel' },
      h('h2', {}, 'Who may do what, where'),
      h('p', { class: 'muted' }, 'Principals (left) hold role assignments (middle) at scopes (right); an assignment also applies to everything below its scope. Choose a principal to follow its lines.'),
      boxes.graph),
    h('div', { class: 'grid2' },
      h('div', { class: 'panel' },
        h('h2', {}, 'Why is it allowed or denied?'),
        h('form', { onsubmit: (e) => { e.preventDefault(); explain(); } },
          h('div', { class: 'row' },
            h('div', { class: 'field' }, h('label', { for: 'ex-principal' }, 'Principal'), boxes.principal),
            h('div', { class: 'field' }, h('label', { for: 'ex-action' }, 'Action'), boxes.action, actions),
            h('div', { class: 'field' }, h('label', { for: 'ex-scope' }, 'Scope'), boxes.scope),
            h('button', { type: 'submit', dataset: { key: 'ex-go' } }, 'Explain'))),
        boxes.result),
      h('div', { class: 'panel' }, h('h2', {}, 'Image pulls per node pool'), boxes.pulls)),
  ]);
}

function drawGraph(ctx) {
  const { access } = ctx.state;
  const kindOrder = (p) => (p.kind === 'ManagedIdentity' ? 1 : 0);
  const principals = [...access.principals].sort((a, b) => kindOrder(a) - kindOrder(b) || a.displayName.localeCompare(b.displayName));
  const assignments = access.assignments;
  const scopes = [...new Map(assignments.map((a) => [lower(a.scope), a.scope])).values()];
  const W = 300; const H = 40; const GAP = 12; const X = [10, 350, 690]; const TOP = 40;
  const rows = Math.max(principals.length, assignments.length, scopes.length, 1);
  const height = TOP + rows * (H + GAP) + 10;
  const y = (i) => TOP + i * (H + GAP);
  const pIndex = new Map(principals.map((p, i) => [lower(p.objectId), i]));
  const sIndex = new Map(scopes.map((s, i) => [lower(s), i]));
  const sel = lower(form.principal);
  const hot = (a) => sel && lower(a.principalId) === sel;
  const curve = (x1, y1, x2, y2, cls) => h('svg:path', { class: cls, d: `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}` });
  const paths = [];
  assignments.forEach((a, i) => {
    const cls = sel ? (hot(a) ? 'hot' : 'dim') : '';
    const pi = pIndex.get(lower(a.principalId));
    if (pi !== undefined) paths.push(curve(X[0] + W, y(pi) + H / 2, X[1], y(i) + H / 2, cls));
    paths.push(curve(X[1] + W, y(i) + H / 2, X[2], y(sIndex.get(lower(a.scope))) + H / 2, cls));
  });
  const held = new Set(assignments.map((a) => lower(a.principalId)));
  const node = (kind, x, i, title, sub, attrs = {}) => h('svg:g', { class: `node ${kind} ${attrs.cls || ''}`, transform: `translate(${x},${y(i)})`, ...attrs.g },
    h('svg:rect', { width: W, height: H, rx: 6 }),
    h('svg:text', { x: 10, y: 17 }, clip(title, 38)),
    h('svg:text', { x: 10, y: 33, class: 'sub' }, clip(sub, 44)));
  const pNodes = principals.map((p, i) => {
    const n = assignments.filter((a) => lower(a.principalId) === lower(p.objectId)).length;
    const kind = p.kind === 'ManagedIdentity' ? 'managed identity' : 'application';
    return node('principal', X[0], i, p.displayName, `${kind} · ${n} assignment${n === 1 ? '' : 's'}`, {
      cls: `${sel && sel === lower(p.objectId) ? 'sel' : ''} ${sel && sel !== lower(p.objectId) ? 'dim' : ''}`,
      g: {
        tabindex: 0, role: 'button', 'aria-label': `${p.displayName}, ${kind}, ${n} role assignment${n === 1 ? '' : 's'}${held.has(lower(p.objectId)) ? '' : ' (none)'}`,
        dataset: { key: `pr:${p.objectId}`, principal: p.displayName },
        onclick: () => choose(p.objectId, ctx),
        onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); choose(p.objectId, ctx); } },
      },
    });
  });
  const aNodes = assignments.map((a, i) => node('assignment', X[1], i, a.roleName, `assignment ${lastSegment(a.id).slice(0, 8)}…`, {
    cls: sel && !hot(a) ? 'dim' : '',
    g: { dataset: { role: a.roleName } },
  }));
  const sNodes = scopes.map((s, i) => node('scope', X[2], i, shortScope(s), `…/${s.split('/').slice(-2).join('/')}`, { g: { 'aria-label': `scope ${s}` } }));
  const head = (x, t) => h('svg:text', { x, y: 22, 'font-weight': '700' }, t);
  const svg = h('svg:svg', { class: 'graph', viewBox: `0 0 1000 ${height}`, role: 'group', 'aria-label': 'Picture of who holds which role where' },
    head(X[0], 'Principals'), head(X[1], 'Role assignments'), head(X[2], 'Scopes'),
    ...paths, ...pNodes, ...aNodes, ...sNodes);
  replace(boxes.graph, svg);
}

function choose(objectId, ctx) {
  form.principal = lower(form.principal) === lower(objectId) ? '' : objectId;
  fillForm(ctx);
  drawGraph(ctx);
}

function fillForm(ctx) {
  const { access, resources } = ctx.state;
  const opts = (select, list, value) => {
    const want = list.map(([v, t]) => `${v}\u0000${t}`).join('\u0001');
    if (select.options$ !== want) {
      select.replaceChildren(...list.map(([v, t]) => h('option', { value: v }, t)));
      select.options$ = want;
    }
    if (value && list.some(([v]) => lower(v) === lower(value))) select.value = list.find(([v]) => lower(v) === lower(value))[0];
  };
  opts(boxes.principal, [['', 'choose a principal'], ...access.principals.map((p) => [p.objectId, `${p.displayName} (${p.kind === 'ManagedIdentity' ? 'managed identity' : 'application'})`])], form.principal);
  const scopes = resources.items
    .filter((i) => !/roleAssignments|roleDefinitions/i.test(i.type))
    .map((i) => [i.id, `${shortScope(i.id)}`]);
  if (!form.scope) {
    const acr = resources.items.find((i) => /containerregistry\/registries$/i.test(i.type));
    form.scope = acr ? acr.id : (scopes[0] || [''])[0];
  }
  opts(boxes.scope, scopes, form.scope);
  if (document.activeElement !== boxes.action) boxes.action.value = form.action;
}

async function explain() {
  const q = new URLSearchParams({ principalId: form.principal, action: form.action, scope: form.scope });
  if (!form.principal) { replace(boxes.result, h('p', { class: 'verdict bad' }, 'Choose a principal first.')); return; }
  try {
    const d = await get(`/_azemu/authorize?${q}`);
    replace(boxes.result, h('div', { class: `verdict ${d.allowed ? 'ok' : 'bad'}`, dataset: { testid: 'verdict', allowed: String(d.allowed) } },
      h('strong', {}, d.allowed ? '✓ Allowed' : '✗ Denied'),
      h('p', {}, d.reason),
      d.grantedBy ? h('p', {}, `Granted by ${d.grantedBy.roleName} at `, h('code', {}, d.grantedBy.scope), ` (matches “${d.grantedBy.matchedAction}”).`) : null,
      d.considered && d.considered.length ? h('ul', {}, d.considered.map((c) => h('li', {}, c))) : null));
  } catch (e) {
    replace(boxes.result, h('p', { class: 'verdict bad' }, `${e.code}: ${e.message}`));
  }
}

function drawPulls(clusters) {
  const rows = [];
  for (const c of (clusters && clusters.value) || []) {
    for (const check of c.pullChecks || []) {
      for (const r of (check.result && check.result.results) || []) {
        rows.push(h('tr', {},
          h('td', {}, `${c.name} / ${r.pool}`),
          h('td', {}, check.name),
          h('td', {}, r.kubeletIdentity ? lastSegment(r.kubeletIdentity.resourceId || '') || r.kubeletIdentity.clientId : '—'),
          h('td', {}, h('span', { class: `pull ${r.allowed ? 'ok' : 'bad'}`, dataset: { testid: 'access-pull', allowed: String(r.allowed) } },
            r.allowed ? `✓ allowed (${r.grantedBy ? r.grantedBy.roleName : ''})` : '✗ denied'))));
      }
    }
  }
  replace(boxes.pulls, rows.length
    ? h('table', {}, h('thead', {}, h('tr', {}, ['Cluster / pool', 'Registry', 'Nodes pull as', 'Pull'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
    : h('p', { class: 'muted' }, 'No cluster and registry in the same subscription yet.'));
}
