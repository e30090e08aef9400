// Controls for test authors: reset, the clock, faults, LRO timing rules, state snapshots and
// the journal as a scenario. Each is a call to azemu's control API under /_azemu/.
import { control, get } from './api.js';
import { h, replace, say, time } from './dom.js';

let ui = null;
let armed = false; // the reset button asks once more before it resets

export function render(root, ctx) {
  if (!ui || !root.contains(ui.faults)) build(root, ctx);
  const r = ctx.state.resources;
  if (r) {
    ui.now.textContent = `${time(r.time)} UTC${r.virtualClock ? ' (virtual)' : ' (wall clock)'}`;
    ui.advance.disabled = !r.virtualClock;
    ui.clockNote.textContent = r.virtualClock
      ? 'The clock moves only when you advance it: operations with a duration end when it passes their time.'
      : 'The clock follows the wall clock. Start azemu with --seed N to get a virtual clock you can advance.';
  }
  lists();
}

const field = (id, label, { tag = 'input', options = [], ...attrs } = {}) => {
  const input = h(tag, { id, name: id, dataset: { key: id }, ...attrs }, options.map((o) => h('option', { value: o }, o || 'any')));
  return [h('div', { class: 'field' }, h('label', { for: id }, label), input), input];
};

function build(root, ctx) {
  const [advLabel, advInput] = field('clock-advance', 'Advance by', { value: '5m', size: 8, pattern: '[0-9.]+(ms|s|m|h|d)?' });
  const [mLabel, mInput] = field('fault-method', 'Method', { tag: 'select', options: ['', 'GET', 'PUT', 'PATCH', 'POST', 'DELETE'] });
  const [pLabel, pInput] = field('fault-path', 'Path (glob)', { placeholder: '*/managedClusters/*', size: 28 });
  const [oLabel, oInput] = field('fault-operation', 'Operation (glob)', { placeholder: 'PUT Microsoft.ContainerService/managedClusters', size: 30 });
  const [sLabel, sInput] = field('fault-status', 'Answer status', { type: 'number', min: 400, max: 599, value: 429, size: 5 });
  const [raLabel, raInput] = field('fault-retry', 'Retry-After (s)', { type: 'number', min: 0, value: 1, size: 4 });
  const [tLabel, tInput] = field('fault-times', 'Times (empty: until removed)', { type: 'number', min: 1, value: 1, size: 4 });
  const [ltLabel, ltInput] = field('lro-type', 'Resource type', { value: 'Microsoft.ContainerService/managedClusters', size: 40 });
  const [lsLabel, lsInput] = field('lro-spec', 'Timing', { value: 'polls=2', size: 14, placeholder: 'immediate, manual, 3s, polls=2, …,fail' });
  ui = {
    now: h('span', { class: 'mono', dataset: { testid: 'clock' } }),
    clockNote: h('p', { class: 'muted' }),
    advance: h('button', { type: 'submit', dataset: { key: 'clock-go' } }, 'Advance the clock'),
    reset: h('button', { type: 'button', class: 'danger', dataset: { key: 'reset' }, onclick: () => reset(ctx) }, 'Reset azemu…'),
    faults: h('div', { 'aria-live': 'polite' }),
    lro: h('div', { 'aria-live': 'polite' }),
  };
  replace(root, h('div', { class: 'grid2' },
    h('section', { class: 'panel', 'aria-labelledby': 'ctl-reset' },
      h('h2', { id: 'ctl-reset' }, 'Reset'),
      h('p', {}, 'Empties every resource, principal, event, fault, LRO rule and the journal, and puts the defaults back.'),
      ui.reset),
    h('section', { class: 'panel', 'aria-labelledby': 'ctl-clock' },
      h('h2', { id: 'ctl-clock' }, 'Clock'),
      h('p', {}, 'Now: ', ui.now), ui.clockNote,
      h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); advance(advInput.value, ctx); } }, advLabel, ui.advance)),
    h('section', { class: 'panel', 'aria-labelledby': 'ctl-faults' },
      h('h2', { id: 'ctl-faults' }, 'Faults'),
      h('p', { class: 'muted' }, 'Matching ARM calls answer with an error instead (after authentication), so clients exercise their retries.'),
      ui.faults,
      h('form', { class: 'row', 'aria-label': 'Add a fault', onsubmit: (e) => {
        e.preventDefault();
        const match = {};
        if (mInput.value) match.method = mInput.value;
        if (pInput.value) match.path = pInput.value;
        if (oInput.value) match.operation = oInput.value;
        const fault = { match, respond: { status: Number(sInput.value) } };
        if (raInput.value !== '') fault.respond.retryAfter = Number(raInput.value);
        if (tInput.value !== '') fault.times = Number(tInput.value);
        addFault(fault);
      } }, mLabel, pLabel, oLabel, sLabel, raLabel, tLabel,
      h('button', { type: 'submit', dataset: { key: 'fault-add' } }, 'Add the fault'))),
    h('section', { class: 'panel', 'aria-labelledby': 'ctl-lro' },
      h('h2', { id: 'ctl-lro' }, 'Long-running operation timing'),
      h('p', { class: 'muted' }, 'How long operations on a resource type take: immediate, manual, a duration (3s), polls=N; add ,fail to end Failed.'),
      ui.lro,
      h('form', { class: 'row', 'aria-label': 'Set an LRO rule', onsubmit: (e) => { e.preventDefault(); setLro({ type: ltInput.value, spec: lsInput.value }); } },
        ltLabel, lsLabel, h('button', { type: 'submit', dataset: { key: 'lro-add' } }, 'Set the rule'))),
    h('section', { class: 'panel', 'aria-labelledby': 'ctl-save' },
      h('h2', { id: 'ctl-save' }, 'Save'),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '/_azemu/state', download: 'azemu-state.json', dataset: { key: 'snapshot' } }, 'Download a state snapshot'),
        h('a', { class: 'button secondary', href: '/_azemu/ui/api/scenario.yaml', download: 'recorded-scenario.yaml', dataset: { key: 'scenario' } }, 'Save the journal as a scenario')),
      h('p', { class: 'muted' }, 'Load a snapshot with ', h('code', {}, 'PUT /_azemu/state'), ' or ', h('code', {}, '--state-file'),
        '; replay the scenario with ', h('code', {}, 'azemu scenario run'), '.'))));
}

async function lists() {
  try {
    const [faults, lro] = await Promise.all([get('/_azemu/faults'), get('/_azemu/lro')]);
    replace(ui.faults, faults.value.length
      ? h('table', { dataset: { testid: 'faults' } },
        h('thead', {}, h('tr', {}, ['Match', 'Answer', 'Times', 'Fired', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, faults.value.map((f) => h('tr', { dataset: { fault: f.id } },
          h('td', {}, h('code', {}, JSON.stringify(f.match))),
          h('td', {}, h('code', {}, JSON.stringify(f.respond))),
          h('td', {}, f.times ?? '∞'), h('td', {}, f.fired),
          h('td', {}, h('button', { type: 'button', class: 'secondary', dataset: { key: `fault-rm:${f.id}` }, 'aria-label': `Remove fault ${f.id}`, onclick: () => removeFault(f.id) }, 'Remove'))))))
      : h('p', { dataset: { testid: 'no-faults' } }, 'No faults.'));
    replace(ui.lro, lro.value.length
      ? [h('ul', {}, lro.value.map((r) => h('li', {}, h('code', {}, r.type), r.method ? ` ${r.method}` : '', ': ', h('code', {}, r.spec)))),
        h('button', { type: 'button', class: 'secondary', dataset: { key: 'lro-clear' }, onclick: clearLro }, 'Remove every rule')]
      : h('p', {}, 'No rules: operations follow --lro-duration.'));
  } catch (e) {
    say(`Could not read faults and LRO rules: ${e.message}`, true);
  }
}

async function act(what, f) {
  try {
    await f();
    say(what);
  } catch (e) {
    say(`${e.code ? e.code + ': ' : ''}${e.message}`, true);
  }
  lists();
}

const addFault = (fault) => act('Fault added.', () => control('POST', '/_azemu/faults', fault));
const removeFault = (id) => act('Fault removed.', () => control('DELETE', `/_azemu/faults/${id}`));
const setLro = (rule) => act(`Operations on ${rule.type} now take ${rule.spec}.`, () => control('POST', '/_azemu/lro', rule));
const clearLro = () => act('LRO rules removed.', () => control('DELETE', '/_azemu/lro'));

async function advance(by, ctx) {
  await act(`Clock advanced by ${by}.`, () => control('POST', '/_azemu/clock', { advance: by }));
  ctx.refresh();
}

async function reset(ctx) {
  if (!armed) {
    armed = true;
    ui.reset.textContent = 'Really reset? Press again';
    setTimeout(() => { armed = false; if (ui) ui.reset.textContent = 'Reset azemu…'; }, 5000);
    return;
  }
  armed = false;
  ui.reset.textContent = 'Reset azemu…';
  await act('azemu was reset.', () => control('POST', '/_azemu/reset'));
  ctx.state.journal = [];
  ctx.state.events = [];
  ctx.refresh();
}
