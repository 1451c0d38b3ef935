/**
 * The typed client of the Rapport API, shared by every web surface. Types come from the server's
 * TypeBox contracts in shared/api, so a contract change breaks the build, not the page.
 * Cookie-authenticated writes carry the session's CSRF token, which sign-in and GET /session hand out.
 */
import type { Static } from 'typebox';
import type {
  Badges,
  Case,
  CaseList,
  CaseListQuery,
  CaseUpdate,
  MessageInput,
  MessageResult,
  Timeline,
} from '../../shared/api/cases.ts';
import type { Channel, ChannelInput, ChannelPatch } from '../../shared/api/channels.ts';
import type { Customer } from '../../shared/api/customers.ts';
import type { Session, SignIn, Team, User } from '../../shared/api/directory.ts';
import type { QuarantinedEmail } from '../../shared/api/email.ts';

export type {
  Case,
  CaseListQuery,
  Channel,
  ChannelInput,
  ChannelPatch,
  Customer,
  QuarantinedEmail,
  Session,
  Team,
  User,
};
export type CasePage = Static<typeof CaseList>;
export type BadgeCounts = Static<typeof Badges>;
export type TimelineEntry = Static<typeof Timeline>['items'][number];
export type TimelineMessage = NonNullable<TimelineEntry['message']>;

/** An answer other than 2xx, carrying the API's stable error code and its message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrfToken: string | null = null;

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Rapport cannot be reached. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) {
    const error = data?.error;
    throw new ApiError(
      res.status,
      error?.code ?? 'http_error',
      error?.message ?? `The server answered ${res.status}`,
    );
  }
  return data as T;
}

function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}

function remember(session: Session): Session {
  csrfToken = session.csrfToken;
  return session;
}

export const api = {
  session: {
    get: async () => remember(await request<Session>('GET', '/api/v1/session')),
    signIn: async (input: SignIn) => remember(await request<Session>('POST', '/api/v1/session', input)),
    signOut: async () => {
      await request<void>('DELETE', '/api/v1/session');
      csrfToken = null;
    },
  },
  cases: {
    list: (filter: CaseListQuery) =>
      request<CasePage>('GET', `/api/v1/cases${query(filter as Record<string, string | number>)}`),
    get: (ref: string | number) => request<Case>('GET', `/api/v1/cases/${encodeURIComponent(String(ref))}`),
    update: (id: string, patch: CaseUpdate) => request<Case>('PATCH', `/api/v1/cases/${id}`, patch),
    timeline: (id: string) => request<Static<typeof Timeline>>('GET', `/api/v1/cases/${id}/timeline`),
    addMessage: (id: string, input: MessageInput) =>
      request<Static<typeof MessageResult>>('POST', `/api/v1/cases/${id}/messages`, input),
  },
  counts: () => request<BadgeCounts>('GET', '/api/v1/inbox/counts'),
  customers: {
    get: (id: string) => request<Customer>('GET', `/api/v1/customers/${id}`),
  },
  users: async () => (await request<{ items: User[] }>('GET', '/api/v1/users')).items,
  teams: async () => (await request<{ items: Team[] }>('GET', '/api/v1/teams')).items,
  channels: {
    list: async () => (await request<{ items: Channel[] }>('GET', '/api/v1/channels')).items,
    create: (input: ChannelInput) => request<Channel>('POST', '/api/v1/channels', input),
    update: (id: string, patch: ChannelPatch) => request<Channel>('PATCH', `/api/v1/channels/${id}`, patch),
  },
  quarantine: {
    list: async () => (await request<{ items: QuarantinedEmail[] }>('GET', '/api/v1/email/quarantine')).items,
    reprocess: (id: string) =>
      request<{ id: string; status: 'pending' }>('POST', `/api/v1/email/quarantine/${id}/reprocess`),
  },
};
