// The dashboard in a real browser: headless Chromium (Debian's package, driven by
// playwright-core) against a real azemu, through the trainer walkthrough of the README:
// the seed's resources are created through the API, the page shows the kubelet identity
// change pending, a node image is published and the pool upgraded *from the page*, the
// effective identity flips, the image pull check turns red, AcrPull is granted to the new
// identity (`az aks update --attach-acr`), and it turns green. Screenshots of each step go to
// $AZEMU_SCREENSHOTS (target/ui-screenshots).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { start, SUBSCRIPTION } from './azemu.mjs';

const SHOTS = process.env.AZEMU_SCREENSHOTS || join(process.cwd(), 'target', 'ui-screenshots');
mkdirSync(SHOTS, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WAIT = 15000; // the longest any live update may take

const RG = `/subscriptions/${SUBSCRIPTION}/resourceGroups/demo`;
const MC = `${RG}/providers/Microsoft.ContainerService/managedClusters/demo`;
const ACR = `${RG}/providers/Microsoft.ContainerRegistry/registries/demoacr123`;
const ACRPULL = '/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d';
const MIO = '/providers/Microsoft.Authorization/roleDefinitions/f1a07417-d97a-45cb-824c-7a7467783830';
const API = { rg: '2024-11-01', mi: '2024-11-30', acr: '2025-11-01', ra: '2022-04-01', aks: '2026-06-01' };

async function launch() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  return { browser, page, problems };
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

function identity(az, name) {
  return az.arm('PUT', `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`, { location: 'westus2' }, API.mi);
}

function grant(az, scope, role, principalId) {
  return az.arm('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
    { properties: { roleDefinitionId: role, principalId, principalType: 'ServicePrincipal' } }, API.ra);
}

function clusterBody(cp, kubelet) {
  return {
    location: 'westus2',
    identity: { type: 'UserAssigned', userAssignedIdentities: { [cp.id]: {} } },
    properties: {
      dnsPrefix: 'demo',
      agentPoolProfiles: [{ name: 'nodepool1', count: 2, mode: 'System', vmSize: 'Standard_DS2_v2' }],
      identityProfile: { kubeletidentity: { resourceId: kubelet.id } },
    },
  };
}

describe('trainer walkthrough on the dashboard (TLS, --enforce-rbac, --seed)', () => {
  let az; let b; let page; const s = {};

  before(async () => {
    az = await start(['--enforce-rbac', '--seed', '7']);
    b = await launch();
    page = b.page;
  });

  after(async () => {
    if (b) await b.browser.close();
    if (az) await az.stop();
  });

  test('the ready line names the dashboard', () => {
    assert.equal(az.dashboard, `${az.url}/_azemu/ui`, az.readyLine);
  });

  test('the seed resources, created through the API, show on the page (first paint measured)', async () => {
    await az.arm('PUT', RG, { location: 'westus2' }, API.rg);
    s.cp = await identity(az, 'control-plane');
    s.k1 = await identity(az, 'kubelet1');
    s.k2 = await identity(az, 'kubelet2');
    s.acr = await az.arm('PUT', ACR, { location: 'westus2', sku: { name: 'Basic' } }, API.acr);
    await grant(az, RG, MIO, s.cp.properties.principalId);
    await grant(az, ACR, ACRPULL, s.k1.properties.principalId);
    s.mc = await az.arm('PUT', MC, clusterBody(s.cp, s.k1), API.aks);
    assert.equal(s.mc.properties.provisioningState, 'Succeeded');

    const response = await page.goto(az.dashboard);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-type'], /text\/html/);
    await page.waitForSelector('body[data-ready=true]');
    const paint = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime])));
    const nav = await page.evaluate(() => performance.getEntriesByType('navigation')[0].toJSON());
    console.log(`first paint ${paint['first-paint']?.toFixed(1)} ms, first contentful paint ${paint['first-contentful-paint']?.toFixed(1)} ms, ` +
      `DOMContentLoaded ${nav.domContentLoadedEventEnd.toFixed(1)} ms (from navigation start; cold, TLS)`);
    assert.ok(paint['first-contentful-paint'] > 0);

    const pool = page.locator('[data-cluster=demo] [data-pool=nodepool1]');
    await pool.waitFor();
    assert.equal(await pool.getAttribute('data-state'), 'current');
    assert.equal(await pool.locator('[data-testid=effective]').textContent(), 'kubelet1');
    await page.locator('[data-cluster=demo] [data-role=control-plane]', { hasText: 'control-plane' }).waitFor();
    await page.locator('[data-cluster=demo] [data-role=desired-kubelet]', { hasText: 'kubelet1' }).waitFor();
    assert.equal(await pool.locator('[data-testid=pull][data-registry=demoacr123]').getAttribute('data-allowed'), 'true');
    assert.equal(await pool.locator('tbody tr').count(), 2);
    s.image0 = await pool.locator('[data-testid=image]').textContent();
    assert.match(s.image0, /^AKSUbuntu-2204gen2containerd-/);
    await shot(page, '01-cluster-created');

    // The same page again, warm: first paint from the local server.
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    const warm = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime])));
    console.log(`first paint (reload) ${warm['first-paint']?.toFixed(1)} ms, first contentful paint ${warm['first-contentful-paint']?.toFixed(1)} ms`);
    assert.ok(warm['first-contentful-paint'] < 1000, JSON.stringify(warm));
  });

  test('the kubelet identity change shows as pending, live', async () => {
    // az aks update --assign-kubelet-identity kubelet2: the cluster names kubelet2 at once…
    const mc = await az.arm('PUT', MC, clusterBody(s.cp, s.k2), API.aks);
    assert.equal(mc.properties.identityProfile.kubeletidentity.resourceId.toLowerCase(), s.k2.id.toLowerCase());
    // …and the page, without a reload, shows the pool waiting for a newer node image.
    const pool = page.locator('[data-cluster=demo] [data-pool=nodepool1]');
    await page.locator('[data-cluster=demo] [data-role=desired-kubelet]', { hasText: 'kubelet2' }).waitFor({ timeout: WAIT });
    await pool.locator('[data-testid=pending]').waitFor({ timeout: WAIT });
    assert.match(await pool.locator('[data-testid=pending]').textContent(), /waiting for a newer node image/);
    assert.equal(await pool.getAttribute('data-state'), 'pending');
    assert.equal(await pool.locator('[data-testid=effective]').textContent(), 'kubelet1');
    assert.equal(await pool.locator('[data-testid=newer]').count(), 0);
    await shot(page, '02-kubelet-change-pending');
    // The README's picture: the moment that matters, as the room sees it.
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), clip: { x: 0, y: 0, width: 1280, height: 820 } });
  });

  test('publish a node image from the page', async () => {
    const pool = page.locator('[data-cluster=demo] [data-pool=nodepool1]');
    await pool.getByRole('button', { name: 'Publish a newer node image' }).click();
    await pool.locator('[data-testid=newer]').waitFor({ timeout: WAIT });
    s.image1 = (await pool.locator('[data-testid=newer]').textContent()).replace(/^.*: /, '');
    assert.notEqual(s.image1, s.image0);
    const catalog = await az.control('GET', '/_azemu/node-images');
    const family = catalog.families.find((f) => f.family === 'AKSUbuntu-2204gen2containerd');
    assert.equal(family.latest, s.image1);
    // Still pending: a new image alone changes no node.
    assert.equal(await pool.getAttribute('data-state'), 'pending');
    await shot(page, '03-node-image-published');
  });

  test('upgrade the pool from the page: the effective identity flips, the pull check turns red', async () => {
    const pool = page.locator('[data-cluster=demo] [data-pool=nodepool1]');
    await pool.getByRole('button', { name: 'Upgrade node image' }).click();
    await page.waitForFunction(() => {
      const p = document.querySelector('[data-cluster=demo] [data-pool=nodepool1]');
      return p && p.dataset.state === 'current' && p.querySelector('[data-testid=effective]').textContent === 'kubelet2';
    }, null, { timeout: WAIT });
    assert.equal(await pool.locator('[data-testid=image]').textContent(), s.image1);
    assert.equal(await pool.locator('[data-testid=pending]').count(), 0);
    // Every node was replaced onto the new image and runs kubelet2.
    const rows = await pool.locator('tbody tr').allTextContents();
    assert.equal(rows.length, 2);
    for (const r of rows) assert.ok(r.includes(s.image1) && r.includes('kubelet2'), r);
    // The upgrade was a real ARM call, made by the page, in the journal.
    const journal = await az.control('GET', '/_azemu/requests?method=POST&path=upgradeNodeImageVersion');
    assert.equal(journal.value.length, 1);
    assert.equal(journal.value[0].status, 202);
    // kubelet2 has no AcrPull on the registry: pulls now fail.
    const pull = pool.locator('[data-testid=pull][data-registry=demoacr123]');
    await page.waitForFunction(() => document.querySelector('[data-pool=nodepool1] [data-testid=pull]')?.dataset.allowed === 'false', null, { timeout: WAIT });
    assert.match(await pull.textContent(), /cannot pull/);
    await shot(page, '04-upgraded-pull-denied');
  });

  test('the access view pictures the assignments and explains the denial', async () => {
    await page.getByRole('tab', { name: 'Access' }).click();
    const graph = page.locator('svg.graph');
    await graph.waitFor();
    assert.ok(await graph.locator('[data-role=AcrPull]').count() >= 1);
    await page.locator('[data-testid=access-pull][data-allowed=false]').waitFor({ timeout: WAIT });
    await graph.locator('[data-principal=kubelet2]').click();
    await page.getByRole('combobox', { name: 'Scope', exact: true }).selectOption(s.acr.id);
    await page.getByRole('button', { name: 'Explain' }).click();
    const verdict = page.locator('[data-testid=verdict]');
    await verdict.waitFor({ timeout: WAIT });
    assert.equal(await verdict.getAttribute('data-allowed'), 'false');
    assert.match(await verdict.textContent(), /Denied/);
    await shot(page, '05-access-denied');
  });

  test('attach the ACR (AcrPull for kubelet2): the pull check turns green, live', async () => {
    // az aks update --attach-acr: AcrPull for the cluster's kubelet identity at the registry.
    await grant(az, s.acr.id, ACRPULL, s.k2.properties.principalId);
    await page.locator('[data-testid=access-pull][data-allowed=true]').waitFor({ timeout: WAIT });
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('[data-testid=verdict][data-allowed=true]').waitFor({ timeout: WAIT });
    await shot(page, '06-access-allowed');
    await page.getByRole('tab', { name: 'AKS identity' }).click();
    const pull = page.locator('[data-pool=nodepool1] [data-testid=pull][data-registry=demoacr123]');
    await pull.waitFor();
    assert.equal(await pull.getAttribute('data-allowed'), 'true');
    assert.match(await pull.textContent(), /can pull.*AcrPull/s);
    await shot(page, '07-pull-allowed');
  });

  test('the timeline shows the story, filtered by the cluster, with the write diff', async () => {
    // From the cluster's card straight to its timeline.
    await page.locator('[data-cluster=demo]').getByRole('button', { name: /What happened to it/ }).click();
    assert.equal(await page.getByRole('tab', { name: 'Timeline' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.getByLabel('Filter by resource').inputValue(), MC);
    const list = page.locator('ol.timeline');
    await list.locator('li.event[data-kind=KubeletIdentityPending]').first().waitFor({ timeout: WAIT });
    // Nothing about other resources.
    for (const p of await list.locator('li:not(.event) code').allTextContents()) assert.ok(p.toLowerCase().includes(MC.toLowerCase()), p);
    // The kubelet change (the second PUT of the cluster) shows the identity before and after.
    const puts = list.locator('li[data-method=PUT]');
    assert.ok(await puts.count() >= 2);
    const diff = puts.first().locator('[data-testid=diff]');
    await diff.locator('summary').click();
    const text = await diff.textContent();
    assert.ok(text.includes('identityProfile.kubeletidentity.resourceId'), text);
    assert.ok(text.includes('kubelet1') && text.includes('kubelet2'), text);
    await shot(page, '08-timeline');
  });

  test('the resources tree shows subscription → group → resources and the JSON', async () => {
    await page.getByRole('tab', { name: 'Resources' }).click();
    const item = page.locator(`button.item[data-id="${MC}"]`);
    await item.waitFor();
    await item.click();
    const pre = page.locator('#view-resources pre.json');
    await page.waitForFunction(() => (document.querySelector('#view-resources pre.json')?.textContent || '').includes('kubeletidentity'));
    const body = JSON.parse(await pre.textContent());
    assert.equal(body.name, 'demo');
    assert.equal(body.properties.provisioningState, 'Succeeded');
    // Nested: the pool is below the cluster, the cluster below the group, below the subscription.
    assert.equal(await page.locator(`li:has(> button[data-id="/subscriptions/${SUBSCRIPTION}"]) li:has(> button[data-id="${RG}"]) button[data-id="${MC}"]`).count(), 1);
    assert.equal(await page.locator(`li:has(> button[data-id="${MC}"]) button[data-id="${MC}/agentPools/nodepool1"]`).count(), 1);
    await shot(page, '09-resources');
  });

  test('controls: faults, clock, LRO rules, snapshot and scenario', async () => {
    await page.getByRole('tab', { name: 'Controls' }).click();
    await page.getByLabel('Path (glob)').fill('*/registries/*');
    await page.getByLabel('Answer status').fill('503');
    await page.getByRole('button', { name: 'Add the fault' }).click();
    const row = page.locator('[data-testid=faults] tr[data-fault]');
    await row.waitFor({ timeout: WAIT });
    const faults = await az.control('GET', '/_azemu/faults');
    assert.equal(faults.value.length, 1);
    assert.equal(faults.value[0].respond.status, 503);
    await row.getByRole('button', { name: /Remove fault/ }).click();
    await page.locator('[data-testid=no-faults]').waitFor({ timeout: WAIT });
    assert.equal((await az.control('GET', '/_azemu/faults')).value.length, 0);

    const before = (await az.control('GET', '/_azemu/clock')).now;
    await page.getByLabel('Advance by').fill('2h');
    await page.getByRole('button', { name: 'Advance the clock' }).click();
    const want = new Date(Date.parse(before) + 2 * 3600 * 1000).toISOString().replace('T', ' ').slice(0, 19);
    await page.waitForFunction((w) => document.querySelector('[data-testid=clock]').textContent.startsWith(w), want, { timeout: WAIT });
    const afterClock = (await az.control('GET', '/_azemu/clock')).now;
    assert.equal(Date.parse(afterClock) - Date.parse(before), 2 * 3600 * 1000);

    await page.getByRole('textbox', { name: 'Timing', exact: true }).fill('polls=3');
    await page.getByRole('button', { name: 'Set the rule' }).click();
    await page.locator('#view-controls li', { hasText: 'polls=3' }).waitFor({ timeout: WAIT });
    assert.deepEqual((await az.control('GET', '/_azemu/lro')).value.map((r) => r.spec), ['polls=3']);

    const [snapshot] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download a state snapshot' }).click()]);
    const state = JSON.parse(await streamText(await snapshot.createReadStream()));
    assert.equal(state.format, 'azemu-state/1');
    assert.ok(state.records.some((r) => r.id === MC));
    const [scenario] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Save the journal as a scenario' }).click()]);
    assert.equal(scenario.suggestedFilename(), 'recorded-scenario.yaml');
    const yaml = await streamText(await scenario.createReadStream());
    assert.match(yaml, /^name: recorded session/m);
    assert.ok(yaml.includes('upgradeNodeImageVersion'), 'the page\'s own upgrade is part of the recorded scenario');
    await shot(page, '10-controls');
  });

  test('keyboard: arrow keys move between the tabs; L toggles large type', async () => {
    await page.getByRole('tab', { name: 'Controls' }).focus();
    await page.keyboard.press('Home');
    assert.equal(await page.getByRole('tab', { name: 'AKS identity' }).getAttribute('aria-selected'), 'true');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Resources' }).getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-resources');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-story');
    // Every button and form field has an accessible name.
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, select')]
      .filter((e) => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim())).map((e) => e.outerHTML));
    assert.deepEqual(unnamed, []);
    const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('.banner')).fontSize));
    const normal = await size();
    await page.keyboard.press('l');
    assert.equal(await page.getByRole('button', { name: 'Large type' }).getAttribute('aria-pressed'), 'true');
    assert.ok(await size() >= normal * 1.4, `${await size()} vs ${normal}`);
    await shot(page, '11-projector');
    await page.keyboard.press('l');
    assert.equal(await page.getByRole('button', { name: 'Large type' }).getAttribute('aria-pressed'), 'false');
  });

  test('no script errors on the page', () => {
    assert.deepEqual(b.problems, []);
  });

  test('a connected page does not hold azemu up at shutdown', async () => {
    assert.equal(await page.evaluate(() => document.getElementById('live').className), 'live on');
    const ms = await az.stop();
    assert.ok(ms < 3000, `azemu took ${ms} ms to stop with the page connected`);
  });
});

describe('the dashboard over plain HTTP (--no-tls)', () => {
  let az; let b;

  before(async () => {
    az = await start(['--no-tls']);
    b = await launch();
  });

  after(async () => {
    if (b) await b.browser.close();
    if (az) await az.stop();
  });

  test('loads, and shows a new resource group live', async () => {
    assert.match(az.dashboard, /^http:\/\/127\.0\.0\.1:\d+\/_azemu\/ui$/);
    const page = b.page;
    await page.goto(`${az.dashboard}#resources`);
    await page.waitForSelector('body[data-ready=true]');
    await page.locator('#live.on').waitFor({ timeout: WAIT });
    assert.equal(await page.locator('button.item[data-id$="/resourceGroups/live-rg"]').count(), 0);
    await az.arm('PUT', `/subscriptions/${SUBSCRIPTION}/resourceGroups/live-rg`, { location: 'eastus' }, API.rg);
    await page.locator('button.item[data-id$="/resourceGroups/live-rg"]').waitFor({ timeout: WAIT });
    await page.getByRole('tab', { name: 'Timeline' }).click();
    await page.locator('ol.timeline li[data-method=PUT]', { hasText: 'live-rg' }).waitFor({ timeout: WAIT });
    await shot(page, '12-no-tls');
    assert.deepEqual(b.problems, []);
  });

  test('unknown dashboard paths are ARM-style 404s; the stream is an event stream', async () => {
    const r = await az.request('GET', '/_azemu/ui/nope.js');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'NotFound');
    const css = await az.request('GET', '/_azemu/ui/style.css');
    assert.equal(css.status, 200);
    assert.match(css.headers['content-type'], /^text\/css/);
    const res = await fetch(`${az.url}/_azemu/ui/stream`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const reader = res.body.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /retry: 500/);
    await reader.cancel();
  });
});

async function streamText(readable) {
  const chunks = [];
  for await (const c of readable) chunks.push(c);
  return Buffer.concat(chunks).toString();
}
