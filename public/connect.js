// xt-connect's drop-in Connect button: an ES module for pages on the institution's own origins
// (EMBED_ORIGINS), served at /connect.js with CORS for those origins only. No framework.
//
//   import { XtConnect } from 'https://connect.bank.example/connect.js';
//   XtConnect.open({ link, onSuccess, onExit, onError });
//
// The connection runs in a popup on xt-connect's own origin (never an iframe: its pages refuse to
// be framed). At the end the popup posts { type: 'xt-connect', status, provider, state } to this
// page, and this module believes it only from xt-connect's origin, from its own popup, with the
// state it chose. When the browser blocks the popup, the whole page goes to the login instead.
const ORIGIN = new URL(import.meta.url).origin;
const STATE = /^[A-Za-z0-9_-]{1,64}$/;
const POLL_MS = 250;

function loginUrl(provider, params) {
  const url = new URL(`/auth/${encodeURIComponent(provider)}/login`, ORIGIN);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.href;
}

function randomState() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function call(fn, result) {
  if (typeof fn === 'function') fn(result);
}

/**
 * Opens the connection for `link` (a link token your backend minted) in a popup. Then exactly one
 * of: onSuccess({ status: 'connected', provider, state }); onExit({ status: 'declined' | 'closed',
 * provider, state }); onError({ status: 'error', provider, state, error }). Blocked popups: the page
 * is sent to the login, and the person comes back where the link's returnTo (or `returnTo`) says:
 * a URL on one of EMBED_ORIGINS (this page, say) or a path on xt-connect; anything else, /account.
 */
function open(options) {
  const { link, provider = 'xt', returnTo, onSuccess, onExit, onError } = options || {};
  if (typeof link !== 'string' || link === '') throw new TypeError('XtConnect.open: `link` (a link token) is required');
  const state = options.state === undefined ? randomState() : String(options.state);
  if (!STATE.test(state)) throw new TypeError('XtConnect.open: `state` must be 1 to 64 letters, digits, _ or -');
  const url = loginUrl(provider, { link, popup: '1', origin: location.origin, state });
  const popup = window.open(url, 'xt-connect', 'popup=yes,width=520,height=720');
  if (!popup) {
    window.location.assign(loginUrl(provider, { link, returnTo }));
    return { close() {} };
  }
  let done = false;
  let timer;
  const finish = (fn, result) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    window.removeEventListener('message', onMessage);
    call(fn, result);
  };
  function onMessage(event) {
    const m = event.data;
    if (event.origin !== ORIGIN || event.source !== popup || !m || m.type !== 'xt-connect' || m.state !== state) return;
    const result = { status: m.status, provider: m.provider, state };
    if (m.status === 'connected') finish(onSuccess, result);
    else if (m.status === 'declined') finish(onExit, result);
    else finish(onError, { ...result, status: 'error', error: typeof m.error === 'string' ? m.error : 'unknown' });
  }
  window.addEventListener('message', onMessage);
  // A message posted just before the popup closed is still on its way: give it a moment.
  timer = setInterval(() => {
    if (popup.closed) setTimeout(() => finish(onExit, { status: 'closed', provider, state }), POLL_MS);
  }, POLL_MS);
  return {
    close() {
      popup.close();
    },
  };
}

export const XtConnect = { open };
export default XtConnect;

const CSS = `
:host { display: inline-block; }
button {
  font: var(--xt-connect-font, inherit);
  color: var(--xt-connect-color, #fff);
  background: var(--xt-connect-background, #0b6bcb);
  border: var(--xt-connect-border, none);
  border-radius: var(--xt-connect-radius, 6px);
  padding: var(--xt-connect-padding, 0.6em 1.2em);
  cursor: pointer;
}
button:focus-visible { outline: 3px solid var(--xt-connect-focus, #0b6bcb); outline-offset: 2px; }
button:disabled { opacity: 0.6; cursor: progress; }
`;

/** The button's default text in XT.COM's eleven languages (a slotted text replaces it). */
const LABELS = {
  en: 'Connect XT.COM',
  ja: 'XT.COMと連携',
  hi: 'XT.COM कनेक्ट करें',
  id: 'Hubungkan XT.COM',
  ru: 'Подключить XT.COM',
  es: 'Conectar XT.COM',
  tr: 'XT.COM hesabını bağla',
  'zh-Hant': '連接 XT.COM',
  'zh-CN': '连接 XT.COM',
  vi: 'Kết nối XT.COM',
  th: 'เชื่อมต่อ XT.COM',
};

/**
 * <xt-connect-button link="…" provider="xt" return-to="/account">Connect XT.COM</xt-connect-button>
 * or, better, link-endpoint="/xt-connect/link" instead of link: a link minted on the click, by a
 * POST to your backend, rather than one written into the page (a link for a connected user is a
 * key to that user's connection: mint it just before use). Calls XtConnect.open with its attributes and fires `xt-connect-success`, `xt-connect-exit` or
 * `xt-connect-error` (bubbling, with the result as `detail`). Styled by --xt-connect-* properties.
 */
class XtConnectButton extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    if (
      'adoptedStyleSheets' in root &&
      typeof CSSStyleSheet === 'function' &&
      'replaceSync' in CSSStyleSheet.prototype
    ) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(document.createElement('style')).textContent = CSS;
    }
    const button = root.appendChild(document.createElement('button'));
    button.type = 'button';
    button.part = 'button';
    this.label = button.appendChild(document.createElement('slot'));
    button.addEventListener('click', () => this.connect());
    this.button = button;
  }

  // The default text, in the page's language: the nearest lang attribute's (the element's own, else the page's).
  connectedCallback() {
    const tag = (this.closest('[lang]')?.lang || 'en').toLowerCase();
    const zh = /^zh-(hant|tw|hk|mo)/.test(tag) ? 'zh-Hant' : /^zh/.test(tag) && 'zh-CN';
    this.label.textContent = LABELS[zh || tag.split('-')[0]] || LABELS.en;
  }

  async connect() {
    const fire = (name) => (detail) => {
      this.button.disabled = false;
      this.dispatchEvent(new CustomEvent(`xt-connect-${name}`, { detail, bubbles: true, composed: true }));
    };
    try {
      this.button.disabled = true;
      const endpoint = this.getAttribute('link-endpoint');
      open({
        link: endpoint ? await fetchLink(endpoint) : this.getAttribute('link') || '',
        provider: this.getAttribute('provider') || undefined,
        returnTo: this.getAttribute('return-to') || undefined,
        onSuccess: fire('success'),
        onExit: fire('exit'),
        onError: fire('error'),
      });
    } catch (err) {
      fire('error')({ status: 'error', error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/**
 * A fresh link from the institution's own backend: POST to `endpoint` (a URL of the page's own
 * site, with its cookies), which answers `{ "link": "<link token>" }` for the signed-in user. The
 * popup then opens within the click's user activation (a few seconds), so it is not blocked.
 */
async function fetchLink(endpoint) {
  const res = await fetch(endpoint, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  });
  const body = res.ok ? await res.json().catch(() => undefined) : undefined;
  if (typeof body?.link !== 'string' || body.link === '') throw new Error(`link-endpoint gave no link (${res.status})`);
  return body.link;
}

if (!customElements.get('xt-connect-button')) customElements.define('xt-connect-button', XtConnectButton);
