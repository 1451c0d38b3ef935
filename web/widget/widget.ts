/**
 * The web chat widget: one script tag on any site,
 *   <script src="https://rapport.example/widget.js" data-channel="<chat channel id>" async></script>
 * and a chat with the organisation in a corner of the page. Framework-free and small (budget:
 * 20 KB gzip), in a shadow root so the site's styles and ours never meet. Everything people
 * wrote is shown with textContent, never as HTML.
 *
 * A signed-in site may set, before the tag, `window.RapportChat = { identity: { userId, userHash },
 * name, email }` (userHash: hex HMAC-SHA256 of userId under the channel's identity secret,
 * computed on the site's server) so the visitor is its known customer.
 */
import type { ChatMessage, ChatServerFrame, ChatSession, WidgetConfig } from '../../shared/api/chat.ts';
import { el, field, load, newId, save, textOn } from './widget-dom.ts';
import { fileList } from './widget-files.ts';
import {
  type ApiJson,
  type FormContext,
  offlineForm,
  preChatForm,
  type SiteOptions,
} from './widget-forms.ts';
import { STYLES } from './widget-styles.ts';

interface Stored {
  id: string;
  token: string;
  name: string | null;
  email: string | null;
}
interface Pending {
  clientId: string;
  text: string;
  failed?: string;
}

declare global {
  interface Window {
    RapportChat?: SiteOptions;
    __rapportChat?: boolean;
  }
}

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FLOODING = 4429;

function start(channel: string, base: string, site: SiteOptions) {
  const key = `rapport-chat:${channel}`;
  const api = (path: string, init?: RequestInit) => fetch(base + path, init);
  let config: WidgetConfig | null = null;
  let stored = load<Stored>(key);
  let pending: Pending[] = load<Pending[]>(`${key}:pending`) ?? [];
  const shown = new Map<string, ChatMessage>();
  let socket: WebSocket | null = null;
  let live = false;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  let typingSentAt = 0;
  let unread = 0;

  const host = el('div', { 'data-rapport-chat': '' });
  const root = host.attachShadow({ mode: 'open' });
  const style = el('style');
  style.textContent = STYLES;
  const launcher = el(
    'button',
    { class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'panel' },
    'Chat with us',
  );
  const title = el('h2', { id: 'title' }, 'Chat');
  const status = el('p', { class: 'status' });
  const avatar = el('img', { class: 'avatar', alt: '', hidden: '' });
  const close = el('button', { class: 'close', type: 'button', 'aria-label': 'Close the chat' }, '×');
  const body = el('div', { class: 'body' });
  const panel = el(
    'section',
    { class: 'panel', id: 'panel', role: 'dialog', 'aria-labelledby': 'title', hidden: '' },
    el('header', {}, avatar, el('div', { class: 'who' }, title, status), close),
    body,
  );
  root.append(style, el('div', { class: 'root' }, panel, launcher));
  document.body.append(host);

  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      unread = 0;
      launcher.textContent = 'Chat with us';
      body.querySelector<HTMLElement>('input, textarea')?.focus();
    } else launcher.focus();
  };
  launcher.onclick = () => setOpen(panel.hasAttribute('hidden'));
  close.onclick = () => setOpen(false);
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') setOpen(false);
  });

  const show = (...nodes: Node[]) => body.replaceChildren(...nodes);

  // ---- the chat ----

  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
  const typing = el('p', { class: 'typing', role: 'status' });
  const connection = el('p', { class: 'connection', role: 'status' });
  const input = el('textarea', { rows: '2', maxlength: '5000', placeholder: 'Write a message…' });
  const file = el('input', { type: 'file', hidden: '', tabindex: '-1' });
  const attach = el('button', { type: 'button', class: 'quiet' }, 'Attach a file');
  const transcript = el('button', { type: 'button', class: 'quiet' }, 'Email me this chat');
  const composer = el(
    'form',
    { class: 'composer' },
    field('Message', input),
    el(
      'div',
      { class: 'row' },
      attach,
      transcript,
      file,
      el('button', { type: 'submit', class: 'primary' }, 'Send'),
    ),
  );

  const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const fetchFile = (id: string) =>
    stored
      ? api(`/widget/v1/sessions/${stored.id}/attachments/${id}`, {
          headers: { authorization: `Bearer ${stored.token}` },
        }).catch(() => null)
      : Promise.resolve(null);
  const tell = (text: string) => {
    connection.textContent = text;
  };

  function render() {
    const items = [...shown.values()].sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
    const nodes: Node[] = items.map((m) => {
      const who = m.from === 'visitor' ? 'You' : (m.author?.name ?? config?.name ?? 'Support');
      return el(
        'div',
        { class: `msg ${m.from}` },
        el('span', { class: 'meta' }, `${who} · ${time(m.at)}`),
        el('p', {}, m.text),
        ...(m.attachments.length ? [fileList(m.attachments, fetchFile, tell)] : []),
      );
    });
    for (const p of pending) {
      const retry = el('button', { type: 'button', class: 'quiet' }, 'Send again');
      retry.onclick = () => {
        p.failed = undefined;
        flush();
      };
      nodes.push(
        el(
          'div',
          { class: 'msg visitor pending' },
          el('span', { class: 'meta' }, p.failed ? `Not sent: ${p.failed}` : 'Sending…'),
          el('p', {}, p.text),
          ...(p.failed ? [retry] : []),
        ),
      );
    }
    log.replaceChildren(...nodes);
    log.scrollTop = log.scrollHeight;
  }

  const keepPending = () => save(`${key}:pending`, pending.length ? pending : null);

  function add(message: ChatMessage) {
    // The same message can come twice (acknowledged, then announced): it is shown once.
    const before = shown.has(message.id);
    shown.set(message.id, message);
    pending = pending.filter((p) => p.clientId !== message.clientId);
    keepPending();
    if (!before && message.from === 'agent') {
      typing.textContent = '';
      if (panel.hidden) launcher.textContent = `Chat with us (${++unread} new)`;
    }
  }

  function setAgent(agent: { name: string; avatarUrl: string | null } | null) {
    status.textContent = agent ? `${agent.name} is helping you` : 'We will be with you shortly';
    const src = agent?.avatarUrl ? new URL(agent.avatarUrl, base) : null;
    avatar.hidden = !(src && /^(https?:|data:image\/)/.test(src.href));
    if (!avatar.hidden) avatar.src = src!.href;
  }

  function flush() {
    if (!live) return render();
    for (const p of pending)
      if (!p.failed) socket!.send(JSON.stringify({ type: 'message', clientId: p.clientId, text: p.text }));
    render();
  }

  function chat() {
    transcript.hidden = !stored?.email;
    setAgent(null);
    show(log, typing, connection, composer);
    render();
    connect();
    if (!panel.hidden) input.focus();
  }

  function connect() {
    clearTimeout(retryTimer);
    if (!stored || (socket && socket.readyState <= WebSocket.OPEN)) return;
    connection.textContent = attempt ? 'Reconnecting…' : 'Connecting…';
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/widget/v1/socket`);
    socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token: stored!.token }));
    ws.onmessage = (event) => {
      const frame = JSON.parse(String(event.data)) as ChatServerFrame;
      switch (frame.type) {
        case 'ready':
          live = true;
          attempt = 0;
          connection.textContent = '';
          setAgent(frame.agent);
          for (const m of frame.messages) add(m);
          // What was typed while the connection was down goes now; the server drops repeats.
          return flush();
        case 'ack':
          add(frame.message);
          return render();
        case 'message':
          add(frame.message);
          return render();
        case 'agent':
          return setAgent(frame.agent);
        case 'typing':
          clearTimeout(typingTimer);
          typing.textContent = frame.typing ? `${frame.name ?? 'Someone'} is typing…` : '';
          typingTimer = setTimeout(() => {
            typing.textContent = '';
          }, 6000);
          return;
        case 'error': {
          const p = pending.find((x) => x.clientId === frame.clientId);
          if (p) p.failed = frame.message;
          return render();
        }
      }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      live = false;
      socket = null;
      if (event.code === CLOSE_UNAUTHENTICATED) {
        // The session ended or expired: start over, keeping what was not sent yet.
        stored = null;
        save(key, null);
        shown.clear();
        return start0();
      }
      if (event.code === CLOSE_FLOODING) {
        connection.textContent = 'This chat is open in too many windows.';
        return;
      }
      connection.textContent = 'Connection lost. Reconnecting…';
      const delay = Math.min(15000, 500 * 2 ** attempt++) * (0.75 + Math.random() / 2);
      retryTimer = setTimeout(connect, delay);
    };
  }

  composer.onsubmit = (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    pending.push({ clientId: newId(), text });
    keepPending();
    if (live) socket!.send(JSON.stringify({ type: 'typing', typing: false }));
    typingSentAt = 0;
    flush();
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    if (!live || Date.now() - typingSentAt < 2000) return;
    typingSentAt = Date.now();
    socket!.send(JSON.stringify({ type: 'typing', typing: true }));
  });
  attach.onclick = () => file.click();
  file.onchange = async () => {
    const chosen = file.files?.[0];
    file.value = '';
    if (!chosen || !stored) return;
    if (
      config &&
      (chosen.size > config.attachments.maxBytes || !config.attachments.types.includes(chosen.type))
    ) {
      connection.textContent = `${chosen.name} cannot be sent: images, PDF or text up to ${Math.round(config.attachments.maxBytes / 1048576)} MB.`;
      return;
    }
    connection.textContent = `Sending ${chosen.name}…`;
    const query = new URLSearchParams({ name: chosen.name.slice(0, 255), clientId: newId() });
    const res = await api(`/widget/v1/sessions/${stored.id}/attachments?${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stored.token}`, 'content-type': chosen.type },
      body: chosen,
    }).catch(() => null);
    const json = await res?.json().catch(() => null);
    connection.textContent = res?.ok ? '' : (json?.error?.message ?? `${chosen.name} could not be sent.`);
    if (res?.ok) {
      add(json.message);
      render();
    }
  };
  transcript.onclick = async () => {
    if (!stored) return;
    const res = await api(`/widget/v1/sessions/${stored.id}/transcript`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stored.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ timezone: Intl.DateTimeFormat().resolvedOptions().timeZone }),
    }).catch(() => null);
    const json = await res?.json().catch(() => null);
    connection.textContent = res?.ok
      ? `We sent the transcript to ${json.to}.`
      : (json?.error?.message ?? 'The transcript could not be sent.');
  };
  const wake = () => {
    if (stored && !socket) {
      attempt = 0;
      connect();
    }
  };
  addEventListener('online', wake);
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && wake());
  // Idle connections through proxies are cut after a minute or so; a ping keeps them.
  setInterval(() => live && socket!.send('{"type":"ping"}'), 25000);

  const post = async (path: string, body: unknown) => {
    const res = await api(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch(() => null);
    return res && { ok: res.ok, json: (await res.json().catch(() => ({}))) as ApiJson };
  };
  const forms: FormContext = {
    channel,
    get config() {
      return config;
    },
    site,
    post,
    show,
  };
  const begin = (s: ChatSession) => {
    stored = { id: s.id, token: s.token, name: s.name, email: s.email };
    save(key, stored);
    chat();
  };

  function start0() {
    if (stored) return chat();
    if (config && !config.online) return offlineForm(forms);
    if (site.identity && site.name) {
      // A signed-in visitor is known: no form to fill.
      const body = {
        channel,
        identity: site.identity,
        name: site.name,
        ...(site.email ? { email: site.email } : {}),
      };
      return void post('/widget/v1/sessions', body).then((res) =>
        res?.ok ? begin(res.json as unknown as ChatSession) : preChatForm(forms, begin),
      );
    }
    preChatForm(forms, begin);
  }

  api(`/widget/v1/config?channel=${encodeURIComponent(channel)}`)
    .then((r) => (r.ok ? (r.json() as Promise<WidgetConfig>) : Promise.reject(new Error(String(r.status)))))
    .then((c) => {
      config = c;
      title.textContent = c.name;
      host.style.setProperty('--brand', /^#[0-9a-f]{6}$/i.test(c.colour) ? c.colour : '#1864ab');
      host.style.setProperty('--on-brand', textOn(c.colour));
      status.textContent = c.online ? 'We are online' : 'Leave us a message';
      start0();
    })
    .catch(() => host.remove());
}

// Last, once everything above is defined. currentScript is only set while this runs.
const script =
  (document.currentScript as HTMLScriptElement | null) ??
  document.querySelector<HTMLScriptElement>('script[data-channel][src*="widget.js"]');
if (script?.dataset.channel && !window.__rapportChat) {
  window.__rapportChat = true;
  start(script.dataset.channel, new URL(script.src, location.href).origin, window.RapportChat ?? {});
}
