// portq console: progressive enhancement only. Every page works without this script;
// with it, searches answer as you type, the role builder updates as you tick, and the
// check form fills a host × port grid as findings stream in.
//
// Data is only ever written with textContent and setAttribute: never as HTML.
'use strict';

(function () {
  document.documentElement.classList.add('js');

  /** Creates an element; children are nodes or strings (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c);
    }
    return e;
  }

  function debounce(fn, ms) {
    let timer = null;
    const wrapped = () => {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
    wrapped.now = () => {
      clearTimeout(timer);
      fn();
    };
    return wrapped;
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function setStatus(node, text, isError) {
    node.textContent = text;
    node.classList.toggle('error', Boolean(isError));
  }

  /** GET a JSON document; rejects with the API's error text on a 4xx. */
  async function getJson(url, signal) {
    const r = await fetch(url, { signal, headers: { Accept: 'application/json' } });
    let data = null;
    try {
      data = await r.json();
    } catch (_) {
      data = null;
    }
    if (!r.ok) {
      const err = new Error((data && data.error) || 'the console answered ' + r.status);
      err.data = data;
      throw err;
    }
    return data;
  }

  // ------------------------------------------------------------ answer tables

  function portText(row) {
    if (row.port_start !== null && row.port_end !== null) {
      return row.port_start === row.port_end ? String(row.port_start) : row.port_start + '-' + row.port_end;
    }
    return { gre: 'IP 47', esp: 'IP 50', ah: 'IP 51' }[row.protocol] || '-';
  }

  function notesCell(row) {
    const td = el('td', { class: 'notes' });
    const tags = [];
    if (row.rpc_dynamic) tags.push('RPC dynamic range');
    for (const q of row.qualifiers || []) if (q !== 'rpc-dynamic') tags.push(q);
    for (const t of tags) td.append(el('span', { class: 'tag' }, t), ' ');
    if (row.disagreement) {
      td.append(el('span', { class: 'tag' }, row.disagreement.topic + ': ' + (row.disagreement.current ? 'current' : 'superseded')), ' ');
    }
    // As view::notes_html: long notes fold away with the sources.
    const long = row.notes && [...row.notes].length > 90;
    if (row.notes && !long) td.append(row.notes);
    const cites = row.citations || [];
    if (long || cites.length) {
      const n = cites.length;
      const count = plural(n, 'source', 'sources');
      const label = long ? (n ? 'notes · ' + count : 'notes') : count;
      const d = el('details', { class: 'cites' }, el('summary', null, label));
      if (long) d.append(el('p', null, row.notes));
      for (const c of cites) d.append(el('small', { class: 'cite' }, c.text));
      td.append(d);
    }
    return td;
  }

  /** The same table the server renders (view::rows_table). */
  function rowsTable(rows, caption) {
    const withRoles = rows.some((r) => r.roles && r.roles.length);
    const withSource = rows.some((r) => r.source !== 'catalog');
    const heads = ['Port', 'Proto', 'Service', 'Service name', 'Application protocol', 'Notes'];
    if (withRoles) heads.push('From', 'Roles');
    if (withSource) heads.push('Source');
    const table = el('table', { class: 'answers' });
    if (caption) table.append(el('caption', { class: 'sr-only' }, caption));
    table.append(el('thead', null, el('tr', null, ...heads.map((h) => el('th', { scope: 'col' }, h)))));
    const body = el('tbody');
    for (const r of rows) {
      const service = r.service_id
        ? el('a', { href: '/services#svc-' + encodeURIComponent(r.service_id) }, r.service)
        : r.service;
      const tr = el('tr', null,
        el('td', { class: 'port' }, portText(r)),
        el('td', null, String(r.protocol || '').toUpperCase()),
        el('td', null, service),
        el('td', null, r.service_name),
        el('td', null, r.application_protocol),
        notesCell(r));
      if (withRoles) {
        tr.append(el('td', null, (r.directions || []).join(', ')), el('td', null, (r.roles || []).join(', ')));
      }
      if (withSource) tr.append(el('td', null, r.source));
      body.append(tr);
    }
    table.append(body);
    return el('div', { class: 'table-wrap' }, table);
  }

  // ------------------------------------------------------------ search

  function lookupStatus(a) {
    let s;
    if (a.did_you_mean) {
      s = 'No match for “' + a.query + '”; did you mean “' + a.did_you_mean + '”? ' + plural(a.total, 'answer', 'answers') + '.';
    } else if (a.total === 0) {
      s = 'Nothing known about “' + a.query + '”.';
    } else {
      s = plural(a.total, 'answer', 'answers') + ' for “' + a.query + '”.';
    }
    if (a.truncated) s += ' The first ' + a.rows.length + ' are shown.';
    if (a.ranges_left_out > 0) {
      s += ' ' + plural(a.ranges_left_out, 'wide range', 'wide ranges') +
        ' also contain it (RPC dynamic and the like): tick “wide ranges” to list them.';
    }
    return s;
  }

  function initSearch() {
    const form = document.getElementById('search-form');
    const input = document.getElementById('q');
    const status = document.getElementById('status');
    const results = document.getElementById('results');
    if (!form || !input || !status || !results) return;
    let ctrl = null;
    const run = async () => {
      const q = input.value;
      const params = new URLSearchParams();
      if (q.trim()) params.set('q', q);
      for (const name of ['ranges', 'iana']) {
        const box = form.elements.namedItem(name);
        if (box && box.checked) params.set(name, '1');
      }
      const qs = params.toString();
      history.replaceState(null, '', qs ? '/?' + qs : '/');
      if (ctrl) ctrl.abort();
      if (!q.trim()) {
        setStatus(status, 'Type a port, a range, a service or an application protocol.', false);
        results.replaceChildren();
        return;
      }
      ctrl = new AbortController();
      try {
        const a = await getJson('/api/lookup?' + qs, ctrl.signal);
        setStatus(status, lookupStatus(a), false);
        results.replaceChildren(...(a.rows.length ? [rowsTable(a.rows, 'Answers')] : []));
      } catch (e) {
        if (e.name === 'AbortError') return;
        setStatus(status, 'Cannot look up “' + q + '”: ' + e.message, true);
        results.replaceChildren();
      }
    };
    const later = debounce(run, 150);
    input.addEventListener('input', later);
    form.addEventListener('change', (e) => {
      if (e.target !== input) later.now();
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      later.now();
    });
  }

  // ------------------------------------------------------------ catalogue filters

  function initFilter(itemSelector, label) {
    const slot = document.getElementById('filter-slot');
    const items = document.getElementById('filter-items');
    if (!slot || !items) return;
    const input = el('input', { id: 'filter', type: 'search', autocomplete: 'off', spellcheck: 'false' });
    const count = el('p', { class: 'help', role: 'status', 'aria-live': 'polite' });
    slot.append(el('div', { class: 'filter' }, el('label', { for: 'filter' }, label), input, count));
    const all = Array.from(items.querySelectorAll(itemSelector));
    const apply = debounce(() => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const item of all) {
        const text = item.textContent.toLowerCase();
        const on = words.every((w) => text.includes(w));
        item.hidden = !on;
        if (on) shown += 1;
      }
      count.textContent = words.length ? shown + ' of ' + all.length + ' shown' : '';
    }, 100);
    input.addEventListener('input', apply);
  }

  // ------------------------------------------------------------ role builder

  /** The builder form as API parameters: each ticked role with its options spelt out. */
  function builderParams(form) {
    const params = new URLSearchParams();
    const opts = Array.from(form.querySelectorAll('input[name="opt"]'));
    for (const box of form.querySelectorAll('input[name="role"]:checked')) {
      const mine = opts.filter((o) => o.value.startsWith(box.value + ':'));
      const spelt = mine.map((o) => {
        const id = o.value.slice(box.value.length + 1);
        return o.checked ? id : 'no-' + id;
      });
      params.append('role', spelt.length ? box.value + ':' + spelt.join(',') : box.value);
    }
    for (const name of ['from', 'peers', 'management', 'to', 'rpc_range', 'static_port', 'policy_store']) {
      const v = form.elements.namedItem(name).value.trim();
      if (v) params.set(name, v);
    }
    for (const name of ['no_default_drop', 'no_management_access', 'log_blocked']) {
      if (form.elements.namedItem(name).checked) params.set(name, '1');
    }
    const profiles = Array.from(form.querySelectorAll('input[name="profile"]:checked')).map((b) => b.value);
    if (profiles.length) params.set('profile', profiles.join(','));
    return params;
  }

  function initRoles() {
    const form = document.getElementById('builder');
    if (!form) return;
    const reqStatus = document.getElementById('req-status');
    const barStatus = document.getElementById('bar-status');
    const status = {
      set(text, isError) {
        setStatus(reqStatus, text, isError);
        if (barStatus) barStatus.textContent = text;
      },
    };
    const table = document.getElementById('req-table');
    const errorBox = document.getElementById('answer-error');
    const rulesBox = document.getElementById('rules-box');
    const previewBox = document.getElementById('preview-box');
    const showRules = (on) => {
      rulesBox.hidden = !on;
      previewBox.hidden = !on;
    };
    const preview = document.getElementById('preview-text');
    const previewFormat = form.elements.namedItem('preview');
    const links = Array.from(document.querySelectorAll('#downloads a.download'));
    let ctrl = null;

    const showError = (text) => {
      errorBox.replaceChildren(...(text ? [el('p', { class: 'error', role: 'alert' }, text)] : []));
    };

    const update = async () => {
      const params = builderParams(form);
      const raw = new URLSearchParams(new FormData(form));
      history.replaceState(null, '', '/roles?' + raw.toString());
      if (ctrl) ctrl.abort();
      if (!params.getAll('role').length) {
        showError('');
        status.set('Tick at least one role.', false);
        table.replaceChildren();
        showRules(false);
        return;
      }
      ctrl = new AbortController();
      const signal = ctrl.signal;
      try {
        const req = await getJson('/api/requirements?' + params, signal);
        status.set(plural(req.rows.length, 'requirement', 'requirements') + ' for ' + req.roles.join(' + ') + '.', false);
        table.replaceChildren(rowsTable(req.rows, 'Requirements'));
        // Rules never open a role to every address unless asked: without sources there
        // is nothing to write yet (the server would refuse).
        if (!params.getAll('from').some((v) => v.trim() !== '')) {
          showError('');
          status.set(plural(req.rows.length, 'requirement', 'requirements') + ' for ' + req.roles.join(' + ') + '. Give the clients\u2019 addresses in From (or any, for every address) to write the rules.', false);
          showRules(false);
          return;
        }
        const fmt = previewFormat.value;
        const r = await fetch('/api/rules?' + params + '&format=' + encodeURIComponent(fmt), { signal });
        const text = await r.text();
        if (!r.ok) {
          let msg = text;
          try { msg = JSON.parse(text).error; } catch (_) { /* keep the text */ }
          throw new Error(msg);
        }
        showError('');
        preview.textContent = text;
        for (const a of links) {
          a.setAttribute('href', '/api/rules?' + params + '&format=' + encodeURIComponent(a.dataset.format));
        }
        showRules(true);
      } catch (e) {
        if (e.name === 'AbortError') return;
        showError(e.message);
        showRules(false);
      }
    };
    const later = debounce(update, 200);
    form.addEventListener('input', later);
    form.addEventListener('change', later);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      later.now();
    });
  }

  // ------------------------------------------------------------ checks

  const STATE_LABELS = {
    listening: 'LISTENING',
    not_listening: 'NOT LISTENING',
    filtered: 'FILTERED',
    listening_or_filtered: 'LISTENING OR FILTERED',
  };

  // A FILTERED cell's trace button: asks the console to trace that port (the same
  // trace as `portq trace`) and shows the verdict and the hops under the grid.
  function traceButton(m, box) {
    const button = el('button', { type: 'button', class: 'trace' }, 'trace');
    button.setAttribute('aria-label', 'Trace the path to ' + m.address + ' port ' + m.port + '/' + m.protocol);
    button.addEventListener('click', async () => {
      button.disabled = true;
      const label = m.address + ' ' + m.port + '/' + m.protocol.toUpperCase();
      const status = el('p', { class: 'status', role: 'status' }, 'Tracing ' + label + '…');
      const item = el('article', { class: 'trace-result' }, el('h3', null, label), status);
      box.append(item);
      box.hidden = false;
      const body = new URLSearchParams({ target: m.address, port: String(m.port), protocol: m.protocol });
      try {
        const r = await fetch('/api/trace', { method: 'POST', body });
        const a = await r.json();
        if (!r.ok) { setStatus(status, a.error || ('the console answered ' + r.status), true); return; }
        setStatus(status, a.text, false);
        const rows = el('tbody');
        for (const h of a.trace.hops) {
          const who = h.replies.length === 0 ? '*' : h.replies.map((x) =>
            (x.name ? x.name + ' ' : '') + x.address + (x.answer === 'time_exceeded' ? '' : ' (' + x.answer.replace('_', ' ') + (x.icmp_code !== undefined ? ' ' + x.icmp_code : '') + ')')).join(', ');
          const rtt = h.replies.length ? h.replies[0].rtt_ms[0].toFixed(2) : '';
          rows.append(el('tr', null, el('td', null, String(h.ttl)), el('td', { class: 'mono' }, who), el('td', null, rtt)));
        }
        item.append(el('div', { class: 'table-wrap' }, el('table', { class: 'answers compact' },
          el('thead', null, el('tr', null, ...['Hop', 'Who answered', 'ms'].map((t) => el('th', { scope: 'col' }, t)))),
          rows)));
        button.textContent = a.dropped_after;
      } catch (err) {
        setStatus(status, 'The trace stopped: ' + err.message, true);
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  function initCheck() {
    const form = document.getElementById('check-form');
    const out = document.getElementById('check-out');
    if (!form || !out) return;
    let ctrl = null;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      const status = el('p', { class: 'status', role: 'status' }, 'Starting…');
      const bar = el('progress', { max: '1', value: '0', 'aria-label': 'Progress' });
      out.replaceChildren(el('h2', null, 'Host × port'), status, bar);
      const body = new URLSearchParams(new FormData(form));
      let r;
      try {
        r = await fetch('/api/check', { method: 'POST', body, signal: ctrl.signal });
      } catch (err) {
        if (err.name !== 'AbortError') setStatus(status, 'The console cannot be reached: ' + err.message, true);
        return;
      }
      if (!r.ok) {
        let msg = 'the console answered ' + r.status;
        try { msg = (await r.json()).error; } catch (_) { /* keep the status */ }
        setStatus(status, msg, true);
        bar.remove();
        return;
      }
      const cells = new Map();
      // What the services answered, for the keyboard and screen readers too (the grid
      // only shows it as a tooltip).
      const answers = el('tbody');
      const details = el('details', { class: 'answers-box', hidden: true },
        el('summary', null, 'What the services answered'),
        el('div', { class: 'table-wrap' }, el('table', { class: 'answers compact' },
          el('thead', null, el('tr', null, ...['Host', 'Port', 'State', 'Service', 'Answer'].map((h) => el('th', { scope: 'col' }, h)))),
          answers)));
      const table = el('table', { class: 'grid' });
      const headRow = el('tr', null, el('th', { scope: 'col' }, 'Host'));
      const rows = new Map();
      const columns = [];
      const notes = el('ul', { class: 'verdict', hidden: true });
      const traces = el('section', { class: 'traces', hidden: true, 'aria-live': 'polite' },
        el('h2', null, 'Where it is dropped'));
      const colKey = (transport, port) => transport + '|' + port;
      // A column per (transport, port), kept in port order; the endpoint mapper's
      // follow-up adds the RPC dynamic ports it finds as their findings arrive.
      const addColumn = (transport, port, service) => {
        const key = colKey(transport, port);
        if (columns.includes(key)) return;
        const order = (k) => { const [t, p] = k.split('|'); return [t === 'tcp' ? 0 : 1, Number(p)]; };
        const [ot, op] = order(key);
        let at = columns.findIndex((k) => { const [t, p] = order(k); return t > ot || (t === ot && p > op); });
        if (at < 0) at = columns.length;
        columns.splice(at, 0, key);
        const th = el('th', { scope: 'col', class: 'port' }, String(port), el('br'), el('span', { class: 'muted' }, transport.toUpperCase()));
        if (service) th.setAttribute('title', service);
        headRow.insertBefore(th, headRow.children[at + 1] || null);
        for (const [address, tr] of rows) {
          const td = el('td', { class: 'state none' }, '—');
          cells.set(address + '|' + key, td);
          tr.insertBefore(td, tr.children[at + 1] || null);
        }
      };
      // Findings in host, protocol, port order (not arrival order).
      const sortKey = (m) => [m.host, m.address, m.protocol === 'tcp' ? 0 : 1, m.port];
      const before = (a, b) => { for (let i = 0; i < a.length; i++) { if (a[i] < b[i]) return true; if (a[i] > b[i]) return false; } return false; };
      const answerKeys = [];
      const onLine = (m) => {
        if (m.type === 'start') {
          const tbody = el('tbody');
          for (const t of m.targets) {
            const tr = el('tr', null, el('th', { scope: 'row' }, t.host, el('br'), el('span', { class: 'muted mono' }, t.address)));
            rows.set(t.address, tr);
            tbody.append(tr);
          }
          table.append(el('thead', null, headRow), tbody);
          for (const p of m.ports) {
            addColumn(p.protocol, p.port, p.service);
            for (const t of m.targets) {
              const td = cells.get(t.address + '|' + colKey(p.protocol, p.port));
              if (td) { td.className = 'state pending'; td.textContent = '…'; }
            }
          }
          out.append(legend(), el('div', { class: 'table-wrap' }, table), notes, traces, details);
          bar.max = Math.max(1, m.total);
          setStatus(status, 'Checking ' + plural(m.targets.length, 'address', 'addresses') + ' × ' + plural(m.ports.length, 'port', 'ports') + '…', false);
        } else if (m.type === 'finding') {
          addColumn(m.protocol, m.port, m.service);
          const td = cells.get(m.address + '|' + colKey(m.protocol, m.port));
          if (td) {
            td.className = 'state ' + m.state;
            td.textContent = STATE_LABELS[m.state] || m.state;
            td.setAttribute('title', [m.service, m.summary].filter(Boolean).join(' — '));
            if (m.state === 'filtered' || m.state === 'listening_or_filtered') {
              td.append(el('br'), traceButton(m, traces));
            }
          }
          const key = sortKey(m);
          let at = answerKeys.findIndex((k) => before(key, k));
          if (at < 0) at = answerKeys.length;
          answerKeys.splice(at, 0, key);
          const tr = el('tr', null,
            el('td', null, m.host),
            el('td', { class: 'port' }, m.port + '/' + m.protocol.toUpperCase()),
            el('td', { class: 'state ' + m.state }, STATE_LABELS[m.state] || m.state),
            el('td', null, m.service || ''),
            el('td', null, m.summary || ''));
          answers.insertBefore(tr, answers.children[at] || null);
          details.hidden = false;
        } else if (m.type === 'note') {
          notes.append(el('li', null, m.text));
          notes.hidden = false;
        } else if (m.type === 'progress') {
          bar.max = Math.max(1, m.total);
          bar.value = m.done;
        } else if (m.type === 'end') {
          const s = m.summary;
          bar.value = bar.max;
          // The library's one verdict (the CLI's exit code, the exporter's probe_success).
          const verdictClass = s.outcome === 'passed' ? 'good' : 'bad';
          for (const line of m.verdict || []) notes.append(el('li', { class: verdictClass }, line));
          notes.hidden = notes.children.length === 0;
          const outcome = { passed: 'Passed', failed: 'Failed', interrupted: 'Interrupted' }[s.outcome] || '';
          let text = 'Done: ' + plural(s.states.listening + s.states.not_listening + s.states.filtered + s.states.listening_or_filtered, 'finding', 'findings') + ' in ' + (s.elapsed_ms / 1000).toFixed(1) + ' s';
          if (s.local_failures > 0) text += '; ' + plural(s.local_failures, 'port', 'ports') + ' could not be checked on this side';
          if (s.interrupted) text += ' (stopped before the end)';
          setStatus(status, text + '.' + (outcome ? ' ' + outcome + '.' : ''), false);
        }
      };
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          let nl;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const text = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (text.trim()) onLine(JSON.parse(text));
          }
        }
      } catch (err) {
        if (err.name !== 'AbortError') setStatus(status, 'The check stopped: ' + err.message, true);
      }
    });
  }

  function legend() {
    const list = el('ul', { class: 'legend', 'aria-label': 'Legend' });
    for (const [cls, label] of Object.entries(STATE_LABELS)) {
      list.append(el('li', null, el('span', { class: 'state ' + cls }), label));
    }
    return list;
  }

  // ------------------------------------------------------------ sortable tables

  /** The value a cell sorts by: a port or range by its first number, else its text. */
  function cellKey(td) {
    const text = (td ? td.textContent : '').trim();
    const m = /^(\d+)(?:-(\d+))?(?:\/|$)/.exec(text);
    return m ? [0, Number(m[1]), Number(m[2] || m[1]), ''] : [1, 0, 0, text.toLowerCase()];
  }

  function compareKeys(a, b) {
    for (let i = 0; i < a.length; i++) {
      if (a[i] < b[i]) return -1;
      if (a[i] > b[i]) return 1;
    }
    return 0;
  }

  /** Click a header to sort its table's rows by that column; click again to reverse. */
  function makeSortable(table) {
    const heads = table.tHead ? [...table.tHead.rows[0].cells] : [];
    heads.forEach((th, col) => {
      th.setAttribute('data-sort', '');
      th.setAttribute('tabindex', '0');
      th.title = 'Sort by ' + th.textContent.trim();
      const sort = () => {
        const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        for (const h of heads) h.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
        for (const body of table.tBodies) {
          const rows = [...body.rows];
          const keyed = rows.map((tr, i) => [cellKey(tr.cells[col]), i, tr]);
          keyed.sort((x, y) => dir * compareKeys(x[0], y[0]) || x[1] - y[1]);
          for (const [, , tr] of keyed) body.append(tr);
        }
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sort();
        }
      });
    });
  }

  /** Makes every answer table on the page, and each one added later, sortable. */
  function sortableTables() {
    const seen = new WeakSet();
    const apply = () => {
      for (const t of document.querySelectorAll('table.answers')) {
        if (!seen.has(t)) {
          seen.add(t);
          makeSortable(t);
        }
      }
    };
    apply();
    new MutationObserver(apply).observe(document.getElementById('main') || document.body, { childList: true, subtree: true });
  }

  // ------------------------------------------------------------ start

  sortableTables();
  const page = document.body.dataset.page;
  if (page === 'search') initSearch();
  else if (page === 'services') initFilter('section.service', 'Filter services');
  else if (page === 'ports') initFilter('tbody tr', 'Filter rows');
  else if (page === 'roles') initRoles();
  else if (page === 'check') initCheck();
})();
