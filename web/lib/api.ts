/**
 * The typed client of the Rapport API, shared by every web surface. Types come from the server's
 * TypeBox contracts in shared/api, so a contract change breaks the build, not the page.
 * Cookie-authenticated writes carry the session's CSRF token, which sign-in and GET /session hand out.
 */
import type { Static } from 'typebox';
import type { CallResult, CaseCallInput } from '../../shared/api/calls.ts';
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
import type {
  Customer,
  CustomerMatch,
  CustomerMerge,
  IdentityInput,
  MergeResult,
} from '../../shared/api/customers.ts';
import type { Session, SignIn, Team, User } from '../../shared/api/directory.ts';
import type { OutboundEmail, OutboxList, QuarantinedEmail } from '../../shared/api/email.ts';
import type { DefaultReply, ReplyOption, ReplyOptions } from '../../shared/api/reply-options.ts';

export type {
  Case,
  CaseListQuery,
  Channel,
  ChannelInput,
  ChannelPatch,
  Customer,
  CustomerMatch,
  CustomerMerge,
  DefaultReply,
  OutboundEmail,
  OutboxList,
  QuarantinedEmail,
  ReplyOption,
  ReplyOptions,
  Session,
  Team,
  User,
};
export type CasePage = Static<typeof CaseList>;
export type BadgeCounts = Static<typeof Badges>;
export type TimelineEntry = Static<typeof Timeline>['items'][number];
export type TimelineMessage = NonNullable<TimelineEntry['message']>;

export type ErrorDetail = { path: string; message: string };

/** An answer other than 2xx, carrying the API's stable error code, its message and per-field details. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  constructor(status: number, code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let csrfToken: string | null = null;

/** `body` is sent as JSON, or as multipart/form-data when it is a FormData (files). */
async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const form = body instanceof FormData;
  // A form's content type carries its boundary: the browser writes it.
  if (body !== undefined && !form) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Rapport cannot be reached. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const data = (await res.json().catch(() => null)) as {
    error?: { code: string; message: string; details?: ErrorDetail[] };
  } | null;
  if (!res.ok) {
    const error = data?.error;
    throw new ApiError(
      res.status,
      error?.code ?? 'http_error',
      error?.message ?? `The server answered ${res.status}`,
      error?.details,
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
    addMessage: (id: string, input: MessageInput, files: File[] = []) => {
      if (files.length === 0) {
        return request<Static<typeof MessageResult>>('POST', `/api/v1/cases/${id}/messages`, input);
      }
      const form = new FormData();
      for (const [key, value] of Object.entries(input)) if (typeof value === 'string') form.set(key, value);
      for (const file of files) form.append('files', file, file.name);
      return request<Static<typeof MessageResult>>('POST', `/api/v1/cases/${id}/messages`, form);
    },
    /** Where a reply can go on a messaging platform now: limits, WhatsApp's window and templates, X's visibility. */
    replyOptions: (id: string) => request<ReplyOptions>('GET', `/api/v1/cases/${id}/reply-options`),
    /** Tells the case's chat visitor the agent is typing (shown to them for a few seconds). */
    typing: (id: string, typing: boolean) => request<void>('POST', `/api/v1/cases/${id}/typing`, { typing }),
    /** A phone call with the customer, logged on the case. */
    logCall: (id: string, input: CaseCallInput) =>
      request<CallResult>('POST', `/api/v1/cases/${id}/calls`, input),
  },
  counts: () => request<BadgeCounts>('GET', '/api/v1/inbox/counts'),
  customers: {
    get: (id: string) => request<Customer>('GET', `/api/v1/customers/${id}`),
    matches: async (id: string) =>
      (await request<{ items: CustomerMatch[] }>('GET', `/api/v1/customers/${id}/matches`)).items,
    dismissMatch: (id: string, otherId: string) =>
      request<void>('POST', `/api/v1/customers/${id}/matches/${otherId}/dismiss`),
    merge: (id: string, mergedId: string) =>
      request<MergeResult>('POST', `/api/v1/customers/${id}/merge`, { mergedId }),
    merges: async (id: string) =>
      (await request<{ items: CustomerMerge[] }>('GET', `/api/v1/customers/${id}/merges`)).items,
    split: (mergeId: string) => request<MergeResult>('POST', `/api/v1/customers/merges/${mergeId}/split`),
    /** 409 `identity_taken` names the customer who has it in `details` (path `customerId`). */
    addIdentity: (id: string, input: IdentityInput) =>
      request<Customer>('POST', `/api/v1/customers/${id}/identities`, input),
    removeIdentity: (id: string, identityId: string) =>
      request<Customer>('DELETE', `/api/v1/customers/${id}/identities/${identityId}`),
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
  outbox: {
    failed: (cursor?: string | null) =>
      request<OutboxList>('GET', `/api/v1/email/outbox${query({ status: 'failed', cursor })}`),
    retry: (id: string) =>
      request<{ id: string; status: 'queued' }>('POST', `/api/v1/email/outbox/${id}/retry`),
  },
};
