/** The widget's two forms before a chat: the pre-chat form (name, email) and the offline form. */
import type { ChatSession, WidgetConfig } from '../../shared/api/chat.ts';
import { el, field, newId, notice } from './widget-dom.ts';

export interface SiteOptions {
  identity?: { userId: string; userHash: string };
  name?: string;
  email?: string;
}

/** An answer of the widget API: the resource, or `{ error: { code, message } }`. */
export type ApiJson = Record<string, unknown> & { error?: { message?: string } };

export interface FormContext {
  channel: string;
  config: WidgetConfig | null;
  site: SiteOptions;
  /** POSTs JSON to the widget API; null when the network failed. */
  post(path: string, body: unknown): Promise<{ ok: boolean; json: ApiJson } | null>;
  show(...nodes: Node[]): void;
}

const page = () => location.href.slice(0, 2000);
const trimmed = (name: string, input: HTMLInputElement) =>
  input.value.trim() ? { [name]: input.value.trim() } : {};

/** Name and email, then a session: `started` gets it. */
export function preChatForm(ctx: FormContext, started: (session: ChatSession) => void): void {
  const name = el('input', { autocomplete: 'name', maxlength: '200' });
  const email = el('input', { type: 'email', autocomplete: 'email', maxlength: '254' });
  name.value = ctx.site.name ?? '';
  email.value = ctx.site.email ?? '';
  const error = notice('', 'alert');
  const form = el(
    'form',
    { class: 'form' },
    notice(ctx.config?.greeting ?? 'Hello! How can we help?'),
    field('Your name', name),
    field('Your email (for a copy of the chat)', email),
    error,
    el('button', { type: 'submit', class: 'primary' }, 'Start the chat'),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    error.textContent = '';
    const res = await ctx.post('/widget/v1/sessions', {
      channel: ctx.channel,
      ...trimmed('name', name),
      ...trimmed('email', email),
      ...(ctx.site.identity ? { identity: ctx.site.identity } : {}),
      page: page(),
    });
    if (res?.ok) return started(res.json as unknown as ChatSession);
    error.textContent = res?.json?.error?.message ?? 'The chat could not start; please try again.';
  };
  ctx.show(form);
}

/** Nobody there: a message and an email address, answered by email. */
export function offlineForm(ctx: FormContext): void {
  const name = el('input', { autocomplete: 'name', maxlength: '200' });
  const email = el('input', { type: 'email', autocomplete: 'email', required: '', maxlength: '254' });
  const text = el('textarea', { rows: '4', required: '', maxlength: '5000' });
  name.value = ctx.site.name ?? '';
  email.value = ctx.site.email ?? '';
  const error = notice('', 'alert');
  // One id per message written: sending it again after a network failure stores it once.
  const clientId = newId();
  const why =
    ctx.config?.offlineReason === 'outside_hours'
      ? 'We are closed right now.'
      : 'Nobody is available to chat right now.';
  const form = el(
    'form',
    { class: 'form' },
    notice(`${why} Leave a message and we will answer by email.`),
    field('Your name', name),
    field('Your email', email),
    field('Your message', text),
    error,
    el('button', { type: 'submit', class: 'primary' }, 'Send the message'),
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    const res = await ctx.post('/widget/v1/offline-messages', {
      channel: ctx.channel,
      clientId,
      email: email.value.trim(),
      text: text.value,
      ...trimmed('name', name),
      ...(ctx.site.identity ? { identity: ctx.site.identity } : {}),
      page: page(),
    });
    if (res?.ok) return ctx.show(notice(`Thank you. We will answer at ${email.value.trim()}.`));
    error.textContent = res?.json?.error?.message ?? 'The message could not be sent; please try again.';
  };
  ctx.show(form);
}
