/**
 * Every domain event type. Each is written in the transaction that made the change; the
 * timeline, realtime pushes and (later) webhooks and analytics read them.
 */
export const eventTypes = [
  'customer.created',
  /** On each case that moved with the merged customer, and once without a case. */
  'customer.merged',
  /** On each case that went back to the customer split off, and once without a case. */
  'customer.split',
  /**
   * An agent recorded an email address or phone number on a customer: once without a case, and
   * on each of their active cases.
   */
  'customer.identity_added',
  /** An agent removed one; recorded like `customer.identity_added`. */
  'customer.identity_removed',
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
  'email.acknowledgement_queued',
  'email.acknowledgement_suppressed',
  'token.revoked',
  'channel.created',
  'channel.updated',
] as const;
export type EventType = (typeof eventTypes)[number];
