// The demo SPA. It never sees a token: the browser sends the HttpOnly session cookie by itself,
// and every unsafe request carries the X-CSRF header. (The SDK of a later issue wraps exactly this.)
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const method = options.method ?? 'GET';
  const headers = { accept: 'application/json', ...(options.body ? { 'content-type': 'application/json' } : {}) };
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf'] = '1';
  const response = await fetch(path, { method, headers, credentials: 'same-origin', body: options.body ? JSON.stringify(options.body) : undefined });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

function show(signedIn) {
  $('signed-in').hidden = !signedIn;
  $('signed-out').hidden = signedIn;
  $('status').textContent = signedIn ? 'Signed in.' : 'Signed out.';
}

const LOGIN_ERRORS = {
  login_denied: 'The sign-in provider did not sign you in.',
  login_failed: "The sign-in provider's answer could not be verified. Please try again.",
  login_transaction_invalid: 'That sign-in expired or was already used. Please try again.',
  provider_unavailable: 'The sign-in provider cannot be reached right now.',
};

async function listProviders() {
  const { status, body } = await api('/auth/providers');
  const list = $('provider-list');
  list.replaceChildren();
  if (status !== 200 || body.providers.length === 0) return;
  const returnTo = new URLSearchParams(location.search).get('returnTo') ?? '/';
  for (const p of body.providers) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    // A top-level navigation: the gateway redirects to the provider and back. No token ever reaches this page.
    link.href = `${p.loginUrl}&returnTo=${encodeURIComponent(returnTo)}`;
    link.textContent = p.name;
    link.className = 'provider-login';
    item.append(link);
    list.append(item);
  }
  $('federated').hidden = false;
}

async function refresh() {
  const { status, body } = await api('/auth/session');
  if (status !== 200) {
    $('protected-image').removeAttribute('src');
    show(false);
    const error = new URLSearchParams(location.search).get('login_error');
    if (error) $('login-error').textContent = LOGIN_ERRORS[error] ?? 'Sign-in failed.';
    await listProviders();
    return;
  }
  $('user-name').textContent = body.user.name ?? body.user.username ?? body.user.id;
  $('user-id').textContent = body.user.id;
  $('user-roles').textContent = body.user.roles.join(', ') || '(none)';
  $('session-expires').textContent = new Date(body.session.expiresAt).toLocaleString();
  $('protected-image').src = `/files/gatehouse.svg`;
  show(true);
  await listSessions();
}

async function listSessions() {
  const { status, body } = await api('/auth/sessions');
  const list = $('sessions');
  list.replaceChildren();
  if (status !== 200) return;
  for (const s of body.sessions) {
    const item = document.createElement('li');
    item.textContent = `${s.current ? 'This device' : 'Other device'} — ${s.userAgent ?? 'unknown browser'}, since ${new Date(s.createdAt).toLocaleString()} `;
    if (!s.current) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Revoke';
      button.addEventListener('click', async () => {
        await api(`/auth/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
        await listSessions();
      });
      item.append(button);
    }
    list.append(item);
  }
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  const { status, body } = await api('/auth/login', { method: 'POST', body: { username: $('username').value, password: $('password').value } });
  if (status !== 200) {
    $('login-error').textContent = body.message ?? 'Sign-in failed.';
    return;
  }
  $('password').value = '';
  const returnTo = new URLSearchParams(location.search).get('returnTo');
  // Only same-origin paths: "//evil.example" or "https://…" would be an open redirect.
  if (returnTo && returnTo.startsWith('/') && !returnTo.startsWith('//') && !returnTo.includes('\\')) {
    location.assign(returnTo);
    return;
  }
  await refresh();
});

$('call-api').addEventListener('click', async () => {
  const { status, body } = await api('/api/demo/hello');
  $('api-result').textContent = `${status}\n${JSON.stringify(body, null, 2)}`;
  if (status === 401) await refresh();
});

$('revoke-others').addEventListener('click', async () => {
  await api('/auth/sessions', { method: 'DELETE' });
  await listSessions();
});

$('logout').addEventListener('click', async () => {
  const { body } = await api('/auth/logout', { method: 'POST' });
  $('api-result').textContent = '';
  // Federated sessions: end the session at the provider too (it redirects back here).
  if (body.redirect) {
    location.assign(body.redirect);
    return;
  }
  $('login-form').reset();
  await refresh();
});

refresh();
