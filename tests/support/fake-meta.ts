/**
 * Meta (WhatsApp Cloud API, Messenger, Instagram) as the tests meet it: webhook bodies in the
 * shapes Meta posts, signed the way Meta signs them, and a local Graph API that takes replies.
 * Shapes follow Meta's documentation:
 * https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
 * https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
 * https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started (X-Hub-Signature-256)
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { startFakeApi } from './fake-api.ts';

export const APP_SECRET = 'meta-app-secret-0123456789abcdef';
export const VERIFY_TOKEN = 'meta-verify-token-rapport';
export const ACCESS_TOKEN = 'EAAG-meta-access-token-for-tests';
export const GRAPH_VERSION = 'v21.0';

/** A numeric Meta id (phone number id, page id, PSID, IGSID). */
export const metaId = () => `${randomInt(1, 10)}${String(randomInt(0, 2 ** 47)).padStart(15, '0')}`;
/** A WhatsApp message id as Meta writes them: "wamid." + base64. */
export const wamid = () => `wamid.${randomBytes(30).toString('base64')}`;
/** A Messenger / Instagram message id. */
export const mid = () => `m_${randomBytes(24).toString('base64url')}`;

/**
 * X-Hub-Signature-256 as Meta computes it, written here independently of the server's code:
 * "sha256=" + hex HMAC-SHA256 keyed with the app secret over the exact body bytes.
 */
export function metaSignature(appSecret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** A JSON body and the headers Meta sends with it. */
export function signedJson(body: unknown, appSecret = APP_SECRET) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    payload,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': metaSignature(appSecret, payload),
      'user-agent': 'facebookexternalua',
    },
  };
}

const seconds = (at = Date.now()) => String(Math.floor(at / 1000));

/** One WhatsApp webhook: a change of field "messages" for a business phone number. */
export function whatsappWebhook(phoneNumberId: string, value: Record<string, unknown>) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              ...value,
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

/**
 * An inbound WhatsApp message, e.g. a text:
 *   {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":
 *   {"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",
 *   "phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},
 *   "wa_id":"447412345678"}],"messages":[{"from":"447412345678","id":"wamid.HBgL…",
 *   "timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},
 *   "field":"messages"}]}]}
 * `message` carries the type and its part: {type:'image', image:{mime_type,sha256,id,caption}},
 * {type:'location', location:{latitude,longitude,name,address}}, {type:'interactive',
 * interactive:{type:'button_reply', button_reply:{id,title}}}, {type:'button', button:{payload,text}},
 * and optionally context:{from,id} when the customer quotes a message.
 */
export function whatsappMessage(input: {
  phoneNumberId: string;
  from: string;
  name?: string;
  id?: string;
  at?: number;
  message?: Record<string, unknown>;
  text?: string;
}) {
  const waId = input.from.replace(/^\+/, '');
  return whatsappWebhook(input.phoneNumberId, {
    contacts: [{ profile: { name: input.name ?? 'Sheena Nelson' }, wa_id: waId }],
    messages: [
      {
        from: waId,
        id: input.id ?? wamid(),
        timestamp: seconds(input.at),
        ...(input.message ?? { type: 'text', text: { body: input.text ?? 'Hello' } }),
      },
    ],
  });
}

/**
 * A status for a message we sent, e.g.
 *   {"statuses":[{"id":"wamid.HBgL…","status":"failed","timestamp":"1750263773",
 *   "recipient_id":"447412345678","errors":[{"code":131047,"title":"Re-engagement message",
 *   "message":"Re-engagement message","error_data":{"details":"Message failed to send because
 *   more than 24 hours have passed since the customer last replied to this number."}}]}]}
 */
export function whatsappStatus(input: {
  phoneNumberId: string;
  id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  recipient: string;
}) {
  return whatsappWebhook(input.phoneNumberId, {
    statuses: [
      {
        id: input.id,
        status: input.status,
        timestamp: seconds(),
        recipient_id: input.recipient.replace(/^\+/, ''),
        ...(input.status === 'failed'
          ? {
              errors: [
                {
                  code: 131047,
                  title: 'Re-engagement message',
                  message: 'Re-engagement message',
                  error_data: {
                    details:
                      'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
                  },
                },
              ],
            }
          : {
              conversation: { id: randomBytes(16).toString('hex'), origin: { type: 'service' } },
              pricing: { billable: true, pricing_model: 'PMP', category: 'service' },
            }),
      },
    ],
  });
}

/**
 * A Messenger (object "page") or Instagram (object "instagram") webhook with messaging events, e.g.
 *   {"object":"page","entry":[{"id":"<PAGE_ID>","time":1458692752478,"messaging":[{"sender":
 *   {"id":"<PSID>"},"recipient":{"id":"<PAGE_ID>"},"timestamp":1458692752478,"message":
 *   {"mid":"m_1457764197618:41d102a3e1ae206a38","text":"hello, world!","reply_to":{"mid":"m_…"},
 *   "attachments":[{"type":"image","payload":{"url":"https://scontent.xx.fbcdn.net/…"}}]}}]}]}
 * Other events in messaging[]: {"delivery":{"mids":["m_…"],"watermark":…}}, {"read":{"mid":"m_…"}}
 * (Instagram) or {"read":{"watermark":…}} (Messenger), {"postback":{"mid","title","payload"}},
 * and our own replies echoed back as {"message":{"mid","text","is_echo":true,"app_id":…}}.
 */
export function messagingWebhook(
  object: 'page' | 'instagram',
  accountId: string,
  events: { sender: string; recipient?: string; at?: number; [k: string]: unknown }[],
) {
  return {
    object,
    entry: [
      {
        id: accountId,
        time: Date.now(),
        messaging: events.map(({ sender, recipient, at, ...rest }) => ({
          sender: { id: sender },
          recipient: { id: recipient ?? accountId },
          timestamp: at ?? Date.now(),
          ...rest,
        })),
      },
    ],
  };
}

/** One message the fake Graph API accepted. */
export interface GraphSent {
  path: string;
  body: Record<string, unknown>;
  id: string;
}

/**
 * The Graph API's send endpoints as Meta answers them: POST /{version}/{phone_number_id}/messages
 * (WhatsApp: {"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],"messages":[{"id"}]})
 * and POST /{version}/me/messages (Messenger, Instagram: {"recipient_id","message_id"}; messaging_type
 * RESPONSE, or MESSAGE_TAG with tag HUMAN_AGENT); a wrong
 * token 401 with Graph's OAuthException; `failNext` answers Graph errors.
 */
export async function startFakeGraph(options: { accessToken?: string } = {}) {
  const accessToken = options.accessToken ?? ACCESS_TOKEN;
  const sent: GraphSent[] = [];
  const failures: { status: number; code: number; message: string }[] = [];
  const api = await startFakeApi((req, raw, reply) => {
    const error = (status: number, code: number, message: string, type = 'OAuthException') =>
      reply(status, { error: { message, type, code, fbtrace_id: randomBytes(8).toString('base64url') } });
    const path = req.url ?? '';
    const whatsapp = new RegExp(`^/${GRAPH_VERSION}/(\\d+)/messages$`).exec(path);
    const page = path === `/${GRAPH_VERSION}/me/messages`;
    if (req.method !== 'POST' || (!whatsapp && !page)) return error(404, 803, 'Unknown path components');
    if (req.headers.authorization !== `Bearer ${accessToken}`)
      return error(401, 190, 'Invalid OAuth access token - Cannot parse access token');
    const failure = failures.shift();
    if (failure) return error(failure.status, failure.code, failure.message);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return error(400, 100, 'Invalid parameter');
    }
    if (whatsapp) {
      const ok =
        body.messaging_product === 'whatsapp' &&
        typeof body.to === 'string' &&
        /^\d{7,15}$/.test(body.to) &&
        (body.type === 'text' || body.type === 'template');
      if (!ok) return error(400, 100, 'Invalid parameter');
      const id = wamid();
      sent.push({ path, body, id });
      return reply(200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: body.to, wa_id: body.to }],
        messages: [{ id, ...(body.type === 'template' ? { message_status: 'accepted' } : {}) }],
      });
    }
    const recipient = (body.recipient as { id?: unknown } | undefined)?.id;
    const tagged = body.messaging_type === 'MESSAGE_TAG' && body.tag === 'HUMAN_AGENT';
    if (typeof recipient !== 'string' || (body.messaging_type !== 'RESPONSE' && !tagged))
      return error(400, 100, 'Invalid parameter');
    const id = mid();
    sent.push({ path, body, id });
    return reply(200, { recipient_id: recipient, message_id: id });
  });
  return {
    baseUrl: api.baseUrl,
    sent,
    /** The next answers are this Graph error (e.g. 400 code 131047, 429 code 4). */
    failNext(status: number, code: number, message: string, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ status, code, message });
    },
    close: api.close,
  };
}
