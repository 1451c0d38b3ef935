/** Case vocabularies and the status lifecycle, shared by server and web. */
export const caseStatuses = ['new', 'open', 'pending', 'resolved', 'closed'] as const;
export type CaseStatus = (typeof caseStatuses)[number];
export const activeStatuses: readonly CaseStatus[] = ['new', 'open', 'pending'];

export const priorities = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof priorities)[number];

/** Allowed status moves. Reopening is resolved/closed → open. */
const transitions: Record<CaseStatus, readonly CaseStatus[]> = {
  new: ['open', 'pending', 'resolved', 'closed'],
  open: ['pending', 'resolved', 'closed'],
  pending: ['open', 'resolved', 'closed'],
  resolved: ['open', 'closed'],
  closed: ['open'],
};

export function canMove(from: CaseStatus, to: CaseStatus): boolean {
  return from === to || transitions[from].includes(to);
}

export function isActive(status: CaseStatus): boolean {
  return activeStatuses.includes(status);
}
