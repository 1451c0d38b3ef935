/**
 * WhatsApp Business through Meta's Cloud API.
 *
 * Inbound: Meta POSTs JSON signed with X-Hub-Signature-256: {object: "whatsapp_business_account",
 * entry[].changes[] {field: "messages", value: {metadata.phone_number_id, contacts[] (wa_id,
 * profile.name), messages[] (text, image, video, audio, document, sticker, location, contacts,
 * interactive and button replies; context.id when quoting), statuses[] (sent, delivered, read,
 * failed for what we sent)}}}. A change for another phone number of the same app is not this
 * channel's and is skipped. Media arrive as ids, kept as metadata and never fetched on intake.
 * Outbound: POST {graph}/{version}/{phone_number_id}/messages, a text or, outside the 24-hour
 * customer-care window, an approved template (metadata.template).
 * https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
 * https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 */
import {
  arr,
  checkedIdentity,
  type Json,
  num,
  obj,
  optStr,
  platformId,
  readJson,
  str,
  timestamp,
} from './json-body.ts';
import { graphPost, graphRoot, META_ACK, metaHandshake, verifyMeta } from './meta.ts';
import type {
  ChannelPlatform,
  InboundAttributes,
  InboundContact,
  ParsedWebhook,
  PlatformChannel,
  StatusUpdate,
} from './platform.ts';
import { emptyWebhook, PlatformError, WebhookPayloadError } from './platform.ts';

/** Cloud API's limit on a text message's body. */
export const WHATSAPP_MAX_LENGTH = 4096;
/** Free-form messages only within this many hours of the customer's last message. */
export const WHATSAPP_WINDOW_HOURS = 24;

const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
const statusOf: Record<string, StatusUpdate['status']> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
};

/** The template a reply outside the window sends (messages.metadata.template). */
export interface TemplateSend {
  name: string;
  language: string;
  parameters: string[];
}

function mediaOf(type: string, m: Json, path: string, channel: PlatformChannel) {
  const id = platformId(m.id, `${path}.id`);
  const voice = type === 'audio' && m.voice === true;
  return {
    url: `${graphRoot(channel)}/${id}`,
    contentType: optStr(m.mime_type, `${path}.mime_type`, 200) ?? null,
    id,
    kind: voice ? 'voice' : type,
    ...(optStr(m.filename, `${path}.filename`, 500) ? { filename: String(m.filename) } : {}),
    ...(optStr(m.caption, `${path}.caption`) ? { caption: String(m.caption) } : {}),
    ...(optStr(m.sha256, `${path}.sha256`, 200) ? { sha256: String(m.sha256) } : {}),
  };
}

const mediaLabel = (kind: string, filename?: string) =>
  kind === 'voice' ? '(voice message)' : `(${kind}${filename ? `: ${filename}` : ''})`;

/** One messages[] item as a contact, or null for what is not the customer writing (reactions, system notices). */
function message(m: Json, path: string, names: Map<string, string>, channel: PlatformChannel) {
  const from = str(m.from, `${path}.from`, 20);
  if (!/^[1-9][0-9]{5,14}$/.test(from)) throw new WebhookPayloadError(`${path}.from is not a WhatsApp id`);
  const type = str(m.type, `${path}.type`, 40);
  if (type === 'reaction' || type === 'system' || type === 'ephemeral') return null;
  const attributes: InboundAttributes = { waId: from };
  let text: string;
  if (type === 'text') {
    text = str(obj(m.text, `${path}.text`).body, `${path}.text.body`);
  } else if ((MEDIA_TYPES as readonly string[]).includes(type)) {
    const media = mediaOf(type, obj(m[type], `${path}.${type}`), `${path}.${type}`, channel);
    attributes.media = [media];
    text = media.caption ?? mediaLabel(media.kind, media.filename);
  } else if (type === 'location') {
    const l = obj(m.location, `${path}.location`);
    const latitude = num(l.latitude, `${path}.location.latitude`);
    const longitude = num(l.longitude, `${path}.location.longitude`);
    if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180)
      throw new WebhookPayloadError(`${path}.location is not on Earth`);
    const name = optStr(l.name, `${path}.location.name`, 1000);
    const address = optStr(l.address, `${path}.location.address`, 1000);
    attributes.location = { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) };
    text = `(location: ${[name, address].filter(Boolean).join(', ') || `${latitude}, ${longitude}`})`;
  } else if (type === 'interactive') {
    const i = obj(m.interactive, `${path}.interactive`);
    const kind = str(i.type, `${path}.interactive.type`, 40);
    const reply = obj(i[kind], `${path}.interactive.${kind}`);
    const title = str(reply.title, `${path}.interactive.${kind}.title`, 1000);
    attributes.interactive = {
      type: kind,
      id: optStr(reply.id, `${path}.interactive.${kind}.id`, 500),
      title,
    };
    const description = optStr(reply.description, `${path}.interactive.${kind}.description`, 1000);
    text = description ? `${title} — ${description}` : title;
  } else if (type === 'button') {
    const b = obj(m.button, `${path}.button`);
    text = str(b.text, `${path}.button.text`, 1000);
    attributes.button = { text, payload: optStr(b.payload, `${path}.button.payload`, 1000) };
  } else if (type === 'contacts') {
    const cards = arr(m.contacts, `${path}.contacts`, 50).map((c, i) => {
      const card = obj(c, `${path}.contacts[${i}]`);
      const name = optStr(obj(card.name ?? {}, `${path}.contacts[${i}].name`).formatted_name, 'name', 500);
      const phones = arr(card.phones, `${path}.contacts[${i}].phones`, 20).map(
        (p, j) => optStr(obj(p, `phones[${j}]`).phone, `phones[${j}].phone`, 50) ?? '',
      );
      return [name, ...phones].filter(Boolean).join(' ');
    });
    attributes.sharedContacts = cards;
    text = `(shared contact: ${cards.join('; ') || 'no details'})`;
  } else {
    // unsupported, order, … : still the customer reaching out; the text says what it was.
    attributes.unsupported = type;
    text = `(a WhatsApp ${type} message Rapport cannot show)`;
  }
  if (m.context !== undefined) {
    const context = obj(m.context, `${path}.context`);
    if (context.id !== undefined) attributes.replyTo = platformId(context.id, `${path}.context.id`);
    if (context.forwarded === true || context.frequently_forwarded === true) attributes.forwarded = true;
  }
  const name = names.get(from);
  if (name) attributes.profile = { name };
  const identity = checkedIdentity('whatsapp', `+${from}`, `${path}.from`);
  const contact: InboundContact = {
    identity,
    text,
    externalId: platformId(m.id, `${path}.id`),
    attributes,
    ...(name ? { name } : {}),
  };
  const at = timestamp(m.timestamp, `${path}.timestamp`, 's');
  if (at) contact.receivedAt = at;
  return contact;
}

function status(s: Json, path: string): StatusUpdate | null {
  const mapped = statusOf[str(s.status, `${path}.status`, 40)];
  if (!mapped) return null;
  const update: StatusUpdate = { providerMessageId: platformId(s.id, `${path}.id`), status: mapped };
  if (mapped === 'failed') {
    // "131047 Re-engagement message: Message failed to send because more than 24 hours …"
    const e = (arr(s.errors, `${path}.errors`, 20)[0] ?? {}) as Json;
    const details = (e.error_data as Json | undefined)?.details;
    const head = [e.code, e.title ?? e.message].filter((v) => typeof v === 'string' || typeof v === 'number');
    const reason = head.join(' ') + (typeof details === 'string' ? `: ${details}` : '');
    update.error = reason.slice(0, 500) || 'failed';
  }
  return update;
}

export function parseWhatsApp(body: Json, channel: PlatformChannel): ParsedWebhook {
  if (body.object !== 'whatsapp_business_account') {
    throw new WebhookPayloadError('object is not whatsapp_business_account');
  }
  const out = emptyWebhook();
  arr(body.entry, 'entry', 100).forEach((e, i) => {
    const entry = obj(e, `entry[${i}]`);
    arr(entry.changes, `entry[${i}].changes`, 100).forEach((c, j) => {
      const path = `entry[${i}].changes[${j}]`;
      const change = obj(c, path);
      // Template reviews, quality ratings, account updates: nothing a customer said.
      if (change.field !== 'messages') return;
      const value = obj(change.value, `${path}.value`);
      const meta = obj(value.metadata, `${path}.value.metadata`);
      const numberId = platformId(meta.phone_number_id, `${path}.value.metadata.phone_number_id`);
      if (channel.address && numberId !== channel.address) return;
      const names = new Map<string, string>();
      arr(value.contacts, `${path}.value.contacts`).forEach((k, n) => {
        const contact = obj(k, `${path}.value.contacts[${n}]`);
        const name = optStr((contact.profile as Json | undefined)?.name, 'profile.name', 500);
        if (typeof contact.wa_id === 'string' && name) names.set(contact.wa_id, name);
      });
      arr(value.messages, `${path}.value.messages`).forEach((m, n) => {
        const p = `${path}.value.messages[${n}]`;
        const contact = message(obj(m, p), p, names, channel);
        if (contact) out.contacts.push(contact);
      });
      arr(value.statuses, `${path}.value.statuses`).forEach((s, n) => {
        const p = `${path}.value.statuses[${n}]`;
        const update = status(obj(s, p), p);
        if (update) out.statuses.push(update);
      });
    });
  });
  return out;
}

/** The Cloud API's message object for a reply: a text, or the template metadata names. */
export function whatsappMessage(to: string, text: string, metadata: Record<string, unknown> | null): Json {
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: to.replace(/^\+/, '') };
  const template = metadata?.template as TemplateSend | undefined;
  if (!template) return { ...base, type: 'text', text: { preview_url: false, body: text } };
  return {
    ...base,
    type: 'template',
    template: {
      name: template.name,
      language: { code: template.language },
      ...(template.parameters.length > 0
        ? {
            components: [
              { type: 'body', parameters: template.parameters.map((p) => ({ type: 'text', text: p })) },
            ],
          }
        : {}),
    },
  };
}

export const whatsapp: ChannelPlatform = {
  type: 'whatsapp',
  secretNames: ['appSecret', 'verifyToken', 'accessToken'],
  replyLimits: {
    maxLength: WHATSAPP_MAX_LENGTH,
    segments: false,
    attachments: false,
    replyWindowHours: WHATSAPP_WINDOW_HOURS,
  },
  handshake: metaHandshake,
  verify: verifyMeta,
  // Parsed in full before anything is stored: one bad item refuses the delivery (MI-05).
  parse: (request, channel) => parseWhatsApp(readJson(request.rawBody), channel),
  acknowledge: META_ACK,
  async send(message, channel) {
    if (!channel.address) throw new PlatformError('the channel has no WhatsApp phone number id', true);
    const json = await graphPost(
      channel,
      `/${channel.address}/messages`,
      whatsappMessage(message.to, message.text, message.metadata),
    );
    const id = Array.isArray(json.messages) ? (json.messages[0] as Json | undefined)?.id : undefined;
    if (typeof id !== 'string') throw new PlatformError('WhatsApp answered without a message id', false);
    return { providerMessageId: id };
  },
};
