// The demo portal: plays a company's frontend. It reads /portal/config.json (where the cloud and
// the edge are, and the redirect prefix the cloud allows), sends the user to the cloud's login,
// finishes the binding on /portal/profile, lists and removes bindings, sends work notifications
// and follows their delivery. Everything shown comes from servers, so it is inserted with
// textContent only, never as HTML.
'use strict';

(function () {
  const STAFF_KEY = 'portal.staff_id';
  const TENANT_KEY = 'portal.tenant_id';
  const POLL_MS = 1000;
  const POLL_MAX = 180;

  let config = null;
  let pendingCode = null;
  let pollTimer = null;

  const $ = (id) => document.getElementById(id);

  // Builds an element; children are nodes or strings (strings become text nodes).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('data-')) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function badge(kind, text) {
    return el('span', { class: 'badge badge-' + kind, text: text });
  }

  function statusBadge(status) {
    const kinds = { delivered: 'success', queued: 'pending', failed: 'error', success: 'success' };
    return badge(kinds[status] || 'neutral', String(status));
  }

  // A definition list of [label, value] pairs (values as text).
  function facts(pairs) {
    const dl = el('dl', { class: 'facts' });
    for (const [label, value] of pairs) {
      if (value === null || value === undefined || value === '') continue;
      dl.append(el('dt', { text: label }), el('dd', { text: String(value) }));
    }
    return dl;
  }

  function show(container, ...nodes) {
    container.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  }

  // fetch with a JSON body; never throws: {ok, status, body, error}.
  async function api(method, url, body) {
    const options = { method: method, headers: { accept: 'application/json' } };
    if (body !== undefined) {
      options.headers['content-type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      return { ok: false, status: 0, body: null, error: 'cannot reach ' + url + ' (' + e.message + ')' };
    }
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (e) {
      json = null;
    }
    return { ok: response.ok, status: response.status, body: json, error: null };
  }

  // One line describing a failed call: the status, errmsg and request id of the error body.
  function failure(res) {
    if (res.status === 0) return res.error;
    const b = res.body || {};
    let text = 'HTTP ' + res.status;
    if (b.errmsg) text += ': ' + b.errmsg;
    if (b.request_id) text += ' (request id ' + b.request_id + ')';
    return text;
  }

  function staffId() {
    return $('staff-id').value.trim();
  }

  function tenantId() {
    return $('tenant-id').value.trim();
  }

  function remember() {
    sessionStorage.setItem(STAFF_KEY, staffId());
    sessionStorage.setItem(TENANT_KEY, tenantId());
    $('bindings-tenant').textContent = tenantId() ? 'tenant ' + tenantId() : 'no tenant id yet (step 1)';
  }

  function edge(path) {
    return config.edge_url.replace(/\/+$/, '') + path;
  }

  // ---- configuration --------------------------------------------------------------------------

  async function loadConfig() {
    const res = await api('GET', '/portal/config.json');
    const summary = $('config-summary');
    if (!res.ok || !res.body) {
      show(summary, badge('error', 'no config'), ' /portal/config.json: ' + failure(res));
      return false;
    }
    config = res.body;
    const missing = [];
    if (!config.cloud_url) missing.push('cloud URL (dingtalk-sim --cloud-url)');
    if (!config.edge_url) missing.push('edge URL (dingtalk-sim --edge-url)');
    show(
      summary,
      el('span', { class: 'pair' }, el('b', { text: 'cloud ' }), el('code', { text: config.cloud_url || '—' })),
      el('span', { class: 'pair' }, el('b', { text: 'edge ' }), el('code', { text: config.edge_url || '—' })),
      el('span', { class: 'pair' }, el('b', { text: 'redirect prefix ' }), el('code', { text: config.redirect_prefix || '—' })),
      missing.length ? el('span', { class: 'pair' }, badge('error', 'missing'), ' ' + missing.join(', ')) : null
    );
    return missing.length === 0;
  }

  // ---- step 1: off to the cloud's login --------------------------------------------------------

  function startBinding() {
    remember();
    const hint = $('bind-hint');
    if (!staffId() || !tenantId()) {
      show(hint, badge('error', 'missing'), ' Enter your staff id and tenant id first.');
      return;
    }
    if (!config || !config.cloud_url) {
      show(hint, badge('error', 'no cloud'), ' The portal does not know the cloud URL.');
      return;
    }
    show(hint, 'Going to the cloud login…');
    window.location.href = config.cloud_url.replace(/\/+$/, '') +
      '/dingding/auth/login?redirect=' + encodeURIComponent(config.redirect_prefix);
  }

  // ---- the /profile landing: finish the binding at the edge -----------------------------------

  function onProfilePage() {
    return /\/profile\/?$/.test(window.location.pathname);
  }

  function handleProfileLanding() {
    $('profile-section').hidden = false;
    const params = new URLSearchParams(window.location.search);
    const result = $('bind-result');
    // Keep the one-time code out of the address bar (and out of a reload).
    window.history.replaceState(null, '', window.location.pathname);
    if (params.get('error')) {
      show(result, badge('error', 'Login refused'),
        el('p', { text: 'DingTalk answered error=' + params.get('error') + '. Nothing was bound; start again at step 1.' }));
      return;
    }
    const code = params.get('authCode');
    if (!code) {
      show(result, badge('neutral', 'Nothing to finish'),
        el('p', { text: 'This page is where the cloud sends you back with an authCode. Start at step 1.' }));
      return;
    }
    pendingCode = code;
    if (!staffId() || !tenantId()) {
      $('profile-missing').hidden = false;
      show(result, badge('pending', 'Waiting'), el('p', { text: 'Enter your staff id and tenant id in step 1, then finish the binding.' }));
      return;
    }
    finishBinding();
  }

  async function finishBinding() {
    remember();
    const result = $('bind-result');
    if (!pendingCode) {
      show(result, badge('neutral', 'Nothing to finish'), el('p', { text: 'No authCode: start at step 1.' }));
      return;
    }
    if (!staffId() || !tenantId()) {
      show(result, badge('error', 'missing'), el('p', { text: 'Enter your staff id and tenant id in step 1.' }));
      return;
    }
    const code = pendingCode;
    pendingCode = null;
    $('profile-missing').hidden = true;
    show(result, badge('pending', 'Binding…'), el('p', { text: 'Calling the edge…' }));
    const res = await api('POST', edge('/dingding/local/bindings'), {
      staff_id: staffId(),
      tenant_id: tenantId(),
      auth_code: code,
    });
    if (res.ok && res.body && res.body.binding) {
      const b = res.body.binding;
      show(result,
        badge('success', 'Bound'),
        el('p', { text: 'Staff ' + b.staff_id + ' of tenant ' + b.tenant_id + ' is now bound to the DingTalk user ' + (b.nick || b.user_id) + '.' }),
        facts([
          ['DingTalk user', b.nick],
          ['user id', b.user_id],
          ['corp', b.corp_id],
          ['union id', b.union_id],
          ['staff id', b.staff_id],
          ['tenant', b.tenant_id],
          ['bound at', b.bound_at ? new Date(b.bound_at).toLocaleString() : ''],
        ]));
      $('send-staff-ids').value = b.staff_id;
      loadBindings();
      return;
    }
    const explain = {
      404: 'The cloud does not know this code: it was already used, or it expired (codes are single-use and live 5 minutes). Log in again.',
      409: 'This DingTalk account is already bound to another staff id in this tenant. Remove that binding (step 2) first.',
      503: 'The edge could not reach the cloud. Nothing was stored; log in again when the cloud is back.',
    };
    const titles = { 404: 'Code unknown or used', 409: 'Conflict', 503: 'Cloud unreachable' };
    show(result,
      badge('error', titles[res.status] || 'Error'),
      el('p', { text: failure(res) }),
      explain[res.status] ? el('p', { class: 'hint', text: explain[res.status] }) : null);
  }

  // ---- step 2: bindings -------------------------------------------------------------------------

  async function loadBindings() {
    remember();
    const list = $('bindings-list');
    if (!tenantId()) {
      show(list, el('p', { class: 'hint', text: 'Enter a tenant id in step 1 to list its bindings.' }));
      return;
    }
    const res = await api('GET', edge('/dingding/local/bindings?tenant_id=' + encodeURIComponent(tenantId())));
    if (!res.ok) {
      show(list, badge('error', 'Error'), ' ' + failure(res));
      return;
    }
    const page = res.body || {};
    const rows = Array.isArray(page) ? page : page.items || [];
    if (rows.length === 0) {
      show(list, el('p', { class: 'hint', text: 'No bindings in tenant ' + tenantId() + ' yet.' }));
      return;
    }
    const table = el('table', { class: 'table' },
      el('thead', {}, el('tr', {},
        el('th', { text: 'Staff id' }), el('th', { text: 'DingTalk user' }), el('th', { text: 'User id' }),
        el('th', { text: 'Corp' }), el('th', { text: 'Bound at' }), el('th', { text: '' }))));
    const tbody = el('tbody');
    for (const b of rows) {
      const remove = el('button', { type: 'button', class: 'small remove-binding', text: 'Remove', 'data-staff': b.staff_id });
      remove.addEventListener('click', () => removeBinding(b.tenant_id || tenantId(), b.staff_id));
      tbody.append(el('tr', {},
        el('td', { text: b.staff_id }), el('td', { text: b.nick || '' }), el('td', { text: b.user_id }),
        el('td', { text: b.corp_id }), el('td', { text: b.bound_at ? new Date(b.bound_at).toLocaleString() : '' }),
        el('td', {}, remove)));
    }
    table.append(tbody);
    show(list, table, page.next_after
      ? el('p', { class: 'hint', text: 'Showing the first ' + rows.length + ' bindings (the list is paged).' })
      : null);
  }

  async function removeBinding(tenant, staff) {
    const res = await api('DELETE', edge('/dingding/local/bindings/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(staff)));
    if (!res.ok) {
      show($('bindings-list'), badge('error', 'Error'), ' removing ' + staff + ': ' + failure(res));
      return;
    }
    loadBindings();
  }

  // ---- step 3: send and follow the delivery ---------------------------------------------------

  async function sendMessage() {
    remember();
    const result = $('send-result');
    const staffIds = $('send-staff-ids').value.split(/[\s,]+/).filter(Boolean);
    const text = $('send-text').value.trim();
    const url = $('send-url').value.trim();
    if (!tenantId() || staffIds.length === 0 || !text) {
      show(result, badge('error', 'missing'), ' Enter the tenant id (step 1), staff ids and a text.');
      return;
    }
    const body = { staff_ids: staffIds, tenant_id: tenantId(), data: text };
    if (url) body.url = url;
    show(result, badge('pending', 'Sending…'));
    $('message-status').replaceChildren();
    const res = await api('POST', edge('/dingding/local/send/messages'), body);
    if (!res.ok || !res.body || !res.body.message_id) {
      show(result, badge('error', 'Error'), ' ' + failure(res));
      return;
    }
    const b = res.body;
    const missing = b.missing_staff_ids || [];
    show(result,
      statusBadge(b.status),
      el('p', { text: res.status === 202
        ? 'Accepted (HTTP 202): the message is in the edge outbox and will be delivered when the cloud answers.'
        : 'Accepted (HTTP ' + res.status + '): the cloud took the message.' }),
      facts([
        ['Message id', b.message_id],
        ['Not bound (skipped)', missing.length ? missing.join(', ') : ''],
      ]));
    followMessage(b.message_id);
  }

  function followMessage(id) {
    if (pollTimer) clearTimeout(pollTimer);
    let polls = 0;
    const tick = async () => {
      polls += 1;
      const res = await api('GET', edge('/dingding/local/messages/' + encodeURIComponent(id)));
      const box = $('message-status');
      if (!res.ok || !res.body) {
        show(box, el('h3', { text: 'Delivery status' }), badge('error', 'Error'), ' ' + failure(res));
      } else {
        const s = res.body;
        show(box,
          el('h3', { text: 'Delivery status' }),
          statusBadge(s.status),
          facts([
            ['status', s.status],
            ['attempts', s.attempts],
            ['last error', s.last_error],
            ['DingTalk task ids', (s.task_ids || []).join(', ')],
          ]));
        if (s.status === 'delivered' || s.status === 'failed') {
          loadInbox();
          return;
        }
      }
      if (polls < POLL_MAX) pollTimer = setTimeout(tick, POLL_MS);
    };
    tick();
  }

  // ---- step 4: the simulated inbox ------------------------------------------------------------

  function messageText(m) {
    if (m.data && typeof m.data.message === 'string') return m.data.message;
    if (m.msg && m.msg.text && typeof m.msg.text.content === 'string') return m.msg.text.content;
    if (m.msg) return JSON.stringify(m.msg);
    return m.data ? JSON.stringify(m.data) : '';
  }

  async function loadInbox() {
    const list = $('inbox-list');
    const res = await api('GET', '/_sim/messages');
    if (!res.ok || !Array.isArray(res.body)) {
      show(list, badge('error', 'Error'), ' ' + failure(res));
      return;
    }
    if (res.body.length === 0) {
      show(list, el('p', { class: 'hint', text: 'No work notifications received yet.' }));
      return;
    }
    const ul = el('ul', { class: 'inbox' });
    for (const m of res.body.slice().reverse()) {
      const href = m.data && typeof m.data.url === 'string' && /^https?:\/\//i.test(m.data.url) ? m.data.url : null;
      const link = href ? el('a', { class: 'link', href: href, text: href, target: '_blank', rel: 'noopener noreferrer' }) : null;
      ul.append(el('li', {},
        el('div', { class: 'meta' },
          badge('success', 'received'), ' to ', el('b', { text: (m.user_ids || []).join(', ') }),
          ' · ' + m.corp_id + ' · task ' + m.task_id + ' · ' + new Date(m.received_at).toLocaleString()),
        el('pre', { text: messageText(m) }),
        link));
    }
    show(list, ul);
  }

  // ---- start ---------------------------------------------------------------------------------

  async function main() {
    $('staff-id').value = sessionStorage.getItem(STAFF_KEY) || '';
    $('tenant-id').value = sessionStorage.getItem(TENANT_KEY) || '';
    if (!$('send-staff-ids').value) $('send-staff-ids').value = $('staff-id').value;
    remember();
    $('staff-id').addEventListener('change', remember);
    $('tenant-id').addEventListener('change', remember);
    $('bind-button').addEventListener('click', startBinding);
    $('finish-bind-button').addEventListener('click', finishBinding);
    $('refresh-bindings').addEventListener('click', loadBindings);
    $('send-button').addEventListener('click', sendMessage);
    $('refresh-inbox').addEventListener('click', loadInbox);
    $('inbox-embed').addEventListener('toggle', () => {
      if ($('inbox-embed').open && !$('inbox-frame').src) $('inbox-frame').src = '/_sim/inbox';
    });
    const ready = await loadConfig();
    loadInbox();
    if (!ready) return;
    if (onProfilePage()) handleProfileLanding();
    if (tenantId()) loadBindings();
  }

  main();
})();
