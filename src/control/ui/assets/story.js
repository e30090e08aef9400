// The AKS identity view: per cluster the control-plane identity, the kubelet identity the
// cluster names, and per pool and per node the kubelet identity the nodes really use and
// their node image; a pending change, the node image buttons, and the image pull checks.
import { arm, control, follow } from './api.js';
import { h, lastSegment, replace, say, shortScope, time } from './dom.js';

/** The AKS api-version the page's own ARM calls use. */
const AKS_API = '2025-10-01';

/** Display names of principals, by client (app) id and object id. */
function namesOf(access) {
  const m = new Map();
  for (const p of (access && access.principals) || []) {
    m.set(p.appId.toLowerCase(), p.displayName);
    m.set(p.objectId.toLowerCase(), p.displayName);
  }
  return m;
}

function identityName(i, names) {
  if (!i) return 'none';
  if (i.name) return i.name;
  if (i.resourceId) return lastSegment(i.resourceId);
  return names.get((i.clientId || '').toLowerCase()) || i.clientId || i.type || 'none';
}

function who(i, names, cls = 'who') {
  if (!i) return h('span', { class: cls }, 'none');
  return h('span', {}, h('span', { class: cls }, identityName(i, names)), ' ',
    i.clientId ? h('code', { class: 'muted', title: 'client id' }, i.clientId) : null);
}

export function render(root, ctx) {
  const { clusters, access } = ctx.state;
  if (!clusters) return replace(root, h('p', { class: 'empty' }, 'Loading the clusters…'));
  const names = namesOf(access);
  if (!clusters.value.length) {
    return replace(root, h('div', { class: 'panel' },
      h('h2', {}, 'No AKS cluster yet'),
      h('p', {}, 'Create one (az aks create …, Terraform, an SDK or a scenario) and it appears here with its ',
        'control-plane identity, the kubelet identity it names, and the identity each node really uses.')));
  }
  replace(root, clusters.value.map((c) => cluster(c, ctx, names)));
}

function stateBadge(s) {
  const cls = s === 'Succeeded' ? 'ok' : s === 'Failed' || s === 'Canceled' ? 'bad' : 'wait';
  return h('span', { class: `badge ${cls}`, title: 'provisioningState' }, s || '—');
}

function cluster(c, ctx, names) {
  const cp = c.controlPlaneIdentity || {};
  const cpWho = cp.userAssignedIdentities && cp.userAssignedIdentities.length
    ? cp.userAssignedIdentities.map((u) => who(u, names))
    : [h('span', { class: 'who' }, cp.type === 'SystemAssigned' ? 'system-assigned' : cp.type)];
  return h('article', { class: 'cluster', 'aria-labelledby': `c-${c.name}`, dataset: { cluster: c.name } },
    h('header', {},
      h('h2', { id: `c-${c.name}` }, `Cluster ${c.name}`),
      stateBadge(c.provisioningState),
      h('span', { class: 'muted' }, `resource group ${c.resourceGroup} · ${c.location || ''} · Kubernetes ${c.kubernetesVersion || '?'}`),
      c.operation ? operationNote(c.operation) : null,
      h('button', {
        type: 'button', class: 'secondary', dataset: { key: `timeline:${c.id}` },
        onclick: () => { ctx.state.filter = c.id; ctx.show('timeline'); },
      }, 'What happened to it? (timeline)')),
    h('div', { class: 'idcards' },
      h('section', { class: 'idcard', 'aria-label': 'Control-plane identity', dataset: { role: 'control-plane' } },
        h('h3', {}, 'Control-plane identity'),
        h('div', {}, ...cpWho),
        h('div', { class: 'muted' }, `identity.type: ${cp.type}`)),
      h('section', { class: 'idcard desired', 'aria-label': 'Kubelet identity the cluster names', dataset: { role: 'desired-kubelet' } },
        h('h3', {}, 'Kubelet identity the cluster names'),
        h('div', {}, who(c.kubeletIdentity, names)),
        h('div', { class: 'muted' }, 'identityProfile.kubeletidentity: what ARM answers at once'))),
    ...(c.pools || []).map((p) => pool(c, p, ctx, names)));
}

function operationNote(op) {
  return h('span', { class: 'badge wait' }, `${op.activity}… ${op.progress != null ? Math.round(op.progress * 100) + '%' : ''}`);
}

function pool(c, p, ctx, names) {
  const desired = c.kubeletIdentity;
  const effective = p.effectiveKubeletIdentities || [];
  const effNames = effective.map((i) => identityName(i, names)).join(', ') || 'none';
  const st = p.pending ? 'pending' : (p.status || '').startsWith('current') ? 'current' : 'mixed';
  let banner;
  if (st === 'pending') {
    banner = h('div', { class: 'banner pending', role: 'status', dataset: { testid: 'pending' } },
      '⚠ Pending: waiting for a newer node image',
      h('span', { class: 'detail' },
        `The cluster names ${identityName(p.pending.kubeletIdentity, names)}, but these nodes still use ${effNames}. `,
        `The pool already runs the newest image (${p.nodeImageVersion}); the change reaches the nodes when a newer image `,
        `is released and the pool is upgraded onto it. Pending since ${time(p.pending.since)}.`));
  } else if (st === 'current') {
    banner = h('div', { class: 'banner current', role: 'status', dataset: { testid: 'current' } },
      `✓ The nodes use the kubelet identity the cluster names: ${identityName(desired, names)}`);
  } else {
    banner = h('div', { class: 'banner mixed', role: 'status', dataset: { testid: 'mixed' } }, `↻ ${p.status}`);
  }
  const busy = ctx.busy.get(p.id);
  const running = p.operation || (busy ? { activity: 'UpgradingNodeImageVersion', status: busy.status } : null);
  const newer = p.newerNodeImageAvailable;
  return h('section', { class: 'pool', 'aria-labelledby': `p-${c.name}-${p.name}`, dataset: { pool: p.name, state: st } },
    h('header', {},
      h('h3', { id: `p-${c.name}-${p.name}` }, `Node pool ${p.name}`),
      stateBadge(p.provisioningState)),
    banner,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Effective kubelet identity'),
      h('dd', { class: 'effective', dataset: { testid: 'effective' } }, effNames),
      h('dt', {}, 'Node image'),
      h('dd', {}, h('code', { dataset: { testid: 'image' } }, p.nodeImageVersion), ' ',
        newer
          ? h('span', { class: 'badge info', dataset: { testid: 'newer' } }, `newer image available: ${p.latestNodeImageVersion}`)
          : h('span', { class: 'badge ok' }, 'newest image')),
      h('dt', {}, 'Image family'),
      h('dd', {}, h('code', {}, p.nodeImageFamily || 'unknown'))),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button', dataset: { key: `publish:${p.id}`, action: 'publish' }, disabled: !p.nodeImageFamily,
        onclick: (e) => publish(p, ctx, e.currentTarget),
      }, 'Publish a newer node image'),
      h('button', {
        type: 'button', class: newer ? '' : 'secondary', dataset: { key: `upgrade:${p.id}`, action: 'upgrade' },
        disabled: !!running, onclick: () => upgrade(c, p, ctx),
        title: newer ? `Upgrade ${p.name} to ${p.latestNodeImageVersion}` : 'Already on the newest image: a no-op',
      }, 'Upgrade node image'),
      running ? h('span', { class: 'badge wait', role: 'status' },
        `${running.activity || 'Upgrading'}: ${running.status || 'InProgress'}`) : null,
      running ? h('progress', running.progress != null ? { value: running.progress, max: 1, 'aria-label': 'progress' } : { 'aria-label': 'in progress' }) : null),
    pulls(c, p, names),
    nodes(p, desired, names));
}

function pulls(c, p, names) {
  const items = [];
  for (const check of c.pullChecks || []) {
    const res = check.result || {};
    if (res.error) continue;
    for (const r of (res.results || []).filter((x) => x.pool === p.name)) {
      const ok = r.allowed === true;
      items.push(h('div', { class: `pull ${ok ? 'ok' : 'bad'}`, dataset: { testid: 'pull', registry: check.name, allowed: String(ok) } },
        ok ? `✓ can pull from ${check.name}` : `✗ cannot pull from ${check.name}`,
        h('span', { class: 'detail' },
          ok && r.grantedBy
            ? `the nodes pull as ${identityName(r.kubeletIdentity, names)}: ${r.grantedBy.roleName} at ${shortScope(r.grantedBy.scope)}`
            : `the nodes pull as ${identityName(r.kubeletIdentity, names)}, which holds no role that may pull at or above the registry (the Access view explains)`)));
    }
  }
  if (!items.length) return null;
  return h('div', {}, h('h4', { class: 'sr-only' }, 'Image pull checks'), h('div', { class: 'pulls' }, items));
}

function nodes(p, desired, names) {
  const rows = (p.nodes || []).map((n) => {
    const same = desired && n.kubeletIdentity && n.kubeletIdentity.clientId.toLowerCase() === (desired.clientId || '').toLowerCase();
    return h('tr', {},
      h('td', {}, h('code', {}, n.name)),
      h('td', {}, h('code', {}, n.nodeImageVersion)),
      h('td', { class: same ? 'same' : 'old' }, identityName(n.kubeletIdentity, names), same ? ' ✓' : ' (not the one the cluster names)'),
      h('td', {}, n.state));
  });
  return h('details', { dataset: { key: `nodes:${p.id}` }, open: true },
    h('summary', {}, `${rows.length} node${rows.length === 1 ? '' : 's'}`),
    h('table', { class: 'nodes' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Node'), h('th', { scope: 'col' }, 'Node image'),
        h('th', { scope: 'col' }, 'Kubelet identity it really uses'), h('th', { scope: 'col' }, 'State'))),
      h('tbody', {}, rows)));
}

async function publish(p, ctx, button) {
  button.disabled = true;
  try {
    const v = await control('POST', '/_azemu/node-images', { family: p.nodeImageFamily });
    say(`Published node image ${v.version}. Pools on ${p.nodeImageFamily} can now upgrade.`);
  } catch (e) {
    say(`Publishing failed: ${e.message}`, true);
  } finally {
    button.disabled = false;
    ctx.refresh();
  }
}

async function upgrade(c, p, ctx) {
  const who = { tenant: c.tenantId || ctx.state.resources.defaultTenantId, clientId: ctx.state.resources.clientId };
  ctx.busy.set(p.id, { status: 'Starting' });
  ctx.render();
  try {
    const resp = await arm('POST', `${p.id}/upgradeNodeImageVersion`, { ...who, apiVersion: AKS_API });
    const end = await follow(resp, {
      ...who,
      progress: (status) => { ctx.busy.set(p.id, { status }); ctx.refresh(); },
    });
    if (end.status === 'Succeeded') say(`Node pool ${p.name}: node image upgrade succeeded.`);
    else say(`Node pool ${p.name}: the upgrade ended ${end.status}${end.error ? `: ${end.error.message}` : ''}`, true);
  } catch (e) {
    say(`Upgrade of ${p.name} refused: ${e.code ? e.code + ': ' : ''}${e.message}`, true);
  } finally {
    ctx.busy.delete(p.id);
    ctx.refresh();
  }
}
