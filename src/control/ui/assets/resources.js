// The resources view: subscriptions → resource groups → resources (and the resources below
// them), each resource's JSON as GET answers it, and the long-running operations.
import { get } from './api.js';
import { h, lastSegment, replace, time } from './dom.js';

let selected = null; // the selected resource id
let detail = null; // {id, body, …} of the selected resource
let loading = null;

const lower = (s) => (s || '').toLowerCase();

/** Nests items by id: an item's parent is the longest other id that prefixes it. */
function nest(items) {
  const byLen = [...items].sort((a, b) => a.id.length - b.id.length);
  const nodes = new Map(items.map((i) => [lower(i.id), { item: i, children: [] }]));
  const roots = [];
  for (const it of byLen) {
    const id = lower(it.id);
    let parent = null;
    let cut = id.lastIndexOf('/');
    while (cut > 0 && !parent) {
      parent = nodes.get(id.slice(0, cut));
      cut = id.lastIndexOf('/', cut - 1);
    }
    (parent ? parent.children : roots).push(nodes.get(id));
  }
  const order = new Map(items.map((i, n) => [lower(i.id), n]));
  const sort = (list) => {
    list.sort((a, b) => order.get(lower(a.item.id)) - order.get(lower(b.item.id)));
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

function shortType(t) {
  const parts = (t || '').split('/');
  return parts.length > 1 ? parts.slice(1).join('/') : t;
}

function badge(state) {
  if (!state) return null;
  const cls = state === 'Succeeded' ? 'ok' : state === 'Failed' || state === 'Canceled' ? 'bad' : 'wait';
  return h('span', { class: `badge ${cls}` }, state);
}

/** A role assignment as "role → principal", from the access view's data. */
function roleAssignment(ctx, id) {
  const a = ctx.state.access;
  if (!a || !/\/roleAssignments\//i.test(id)) return null;
  const ra = a.assignments.find((x) => lower(x.id) === lower(id));
  if (!ra) return null;
  const p = a.principals.find((x) => lower(x.objectId) === lower(ra.principalId));
  return { roleName: ra.roleName, principal: p ? p.displayName : ra.principalId };
}

function treeNode(node, ctx, running) {
  const it = node.item;
  const op = running.get(lower(it.id));
  let label = lower(it.type) === 'microsoft.resources/subscriptions' ? `subscription ${it.name}` : it.name;
  const ra = roleAssignment(ctx, it.id);
  if (ra) label = `${ra.roleName} → ${ra.principal}`;
  return h('li', {},
    h('button', {
      type: 'button', class: 'item', 'aria-current': lower(selected) === lower(it.id) ? 'true' : false,
      dataset: { key: `res:${it.id}`, id: it.id },
      onclick: () => select(it.id, ctx),
    },
    h('span', {}, label), h('span', { class: 'type' }, shortType(it.type)), badge(it.provisioningState),
    op ? h('span', { class: 'badge wait' }, `${op.activity}…`) : null),
    node.children.length ? h('ul', {}, node.children.map((c) => treeNode(c, ctx, running))) : null);
}

async function select(id, ctx) {
  selected = id;
  await load(ctx);
  ctx.render();
  const heading = document.getElementById('res-detail-title');
  if (heading) heading.focus({ preventScroll: false });
}

async function load(ctx) {
  if (!selected) return;
  const want = selected;
  loading = get(`/_azemu/ui/api/resource?id=${encodeURIComponent(want)}`)
    .then((d) => { if (selected === want) detail = d; })
    .catch(() => { if (selected === want) detail = { id: want, missing: true }; });
  await loading;
}

/** Up/down arrows move between the items of the tree. */
function treeKeys(e) {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const items = [...e.currentTarget.querySelectorAll('button.item')];
  const i = items.indexOf(document.activeElement);
  if (i < 0) return;
  e.preventDefault();
  const next = items[Math.max(0, Math.min(items.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))];
  next.focus();
}

export function render(root, ctx) {
  const r = ctx.state.resources;
  if (!r) return replace(root, h('p', { class: 'empty' }, 'Loading the resources…'));
  const running = new Map(r.operations.filter((o) => !o.endTime).map((o) => [lower(o.resourceId), o]));
  // A refresh re-reads the selected resource (its JSON changes as operations end).
  if (selected && !root.dataset.loading) {
    root.dataset.loading = '1';
    load(ctx).then(() => { delete root.dataset.loading; draw(root, ctx, r, running); });
  }
  draw(root, ctx, r, running);
}

function draw(root, ctx, r, running) {
  const tree = h('ul', { class: 'tree', 'aria-label': 'Subscriptions, resource groups and resources', onkeydown: treeKeys },
    nest(r.items).map((n) => treeNode(n, ctx, running)));
  replace(root, h('div', { class: 'split' },
    h('div', {},
      h('div', { class: 'panel' }, h('h2', {}, 'Resources'), tree),
      operations(r)),
    h('div', { class: 'panel' }, details(ctx, running))));
}

function operations(r) {
  const ops = r.operations;
  return h('div', { class: 'panel' },
    h('h2', {}, 'Long-running operations'),
    ops.length ? h('ul', { class: 'ops' }, ops.map((o) => h('li', { dataset: { status: o.status } },
      h('strong', {}, o.activity), ` ${lastSegment(o.resourceId)} `, badge(o.status === 'InProgress' ? 'InProgress' : o.status), ' ',
      o.endTime ? h('span', { class: 'muted' }, `${(o.elapsedMs / 1000).toFixed(1)} s, ended ${time(o.endTime)}`)
        : h('span', {}, h('progress', o.progress != null ? { value: o.progress, max: 1, 'aria-label': `${o.activity} progress` } : { 'aria-label': `${o.activity} in progress` }),
          ` ${o.progress != null ? Math.round(o.progress * 100) + '%' : ''} ${(o.elapsedMs / 1000).toFixed(1)} s`),
      o.error ? h('div', { class: 'muted' }, `${o.error.code}: ${o.error.message}`) : null)))
      : h('p', { class: 'muted' }, 'None yet.'));
}

function details(ctx, running) {
  if (!selected) return [h('h2', {}, 'Resource'), h('p', { class: 'muted' }, 'Choose a resource to see its JSON as GET answers it.')];
  if (!detail || lower(detail.id) !== lower(selected)) return [h('h2', {}, lastSegment(selected)), h('p', { class: 'muted' }, 'Loading…')];
  if (detail.missing) return [h('h2', { id: 'res-detail-title', tabindex: '-1' }, lastSegment(selected)), h('p', {}, 'This resource no longer exists.')];
  const body = detail.body || {};
  const op = detail.operation || running.get(lower(detail.id));
  return [
    h('h2', { id: 'res-detail-title', tabindex: '-1' }, body.name || lastSegment(detail.id)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Type'), h('dd', {}, h('code', {}, detail.type)),
      h('dt', {}, 'Id'), h('dd', {}, h('code', {}, detail.id)),
      h('dt', {}, 'Provisioning state'), h('dd', {}, badge((body.properties || {}).provisioningState) || '—'),
      op ? h('dt', {}, 'Running') : null,
      op ? h('dd', {}, `${op.activity} `, h('progress', op.progress != null ? { value: op.progress, max: 1, 'aria-label': 'progress' } : { 'aria-label': 'in progress' })) : null),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', dataset: { key: 'res-timeline' }, onclick: () => { ctx.state.filter = detail.id; ctx.show('timeline'); } },
        'Show in the timeline')),
    h('pre', { class: 'json', tabindex: '0', 'aria-label': 'The resource as GET answers it' }, JSON.stringify(body, null, 2)),
  ];
}
