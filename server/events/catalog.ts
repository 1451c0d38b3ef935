/**
 * Every domain event type. Each is written in the transaction that made the change; the
 * timeline, realtime pushes and (later) webhooks and analytics read them.
 */
export const eventTypes = [
  'customer.created',
  'case.opened',
  'case.reopened',
  'contact.received',
  'message.replied',
  'message.noted',
  'case.owner_changed',
  'case.team_changed',
  'case.status_changed',
  'case.priority_changed',
  'case.reason_changed',
  'case.tags_changed',
  'case.subject_changed',
  'token.revoked',
] as const;
export type EventType = (typeof eventTypes)[number];
