/**
 * Calling a platform's JSON REST API with the channel's access token (Meta's Graph API, X API
 * v2), through platformFetch. What a refusal means is each platform's own.
 */
import { type Json, obj } from './json-body.ts';
import { type PlatformChannel, PlatformError, platformFetch } from './platform.ts';

/**
 * POSTs `body` as JSON with the channel's access token as a bearer token; answers the status,
 * the text and the object it holds ({} when it holds none). Without a token nothing is called
 * and the send fails for good.
 */
export async function postJson(
  channel: PlatformChannel,
  platform: string,
  url: string,
  body: Json,
): Promise<{ status: number; text: string; json: Json }> {
  const token = channel.secret('accessToken');
  if (!token) throw new PlatformError(`the channel has no ${platform} access token`, true);
  const res = await platformFetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = obj(JSON.parse(text), 'response');
  } catch {}
  return { status: res.status, text, json };
}
