import type { Role } from './roles.ts';

/**
 * The role × action table every route is checked against (and a test walks). A route names one
 * permission; `public` routes need no sign-in. API tokens carry a role and use the same table.
 */
export const permissions = {
  public: ['admin', 'supervisor', 'agent', 'specialist'],
  'session.self': ['admin', 'supervisor', 'agent', 'specialist'],
  'contacts.create': ['admin', 'supervisor', 'agent'],
  'cases.read': ['admin', 'supervisor', 'agent', 'specialist'],
  'cases.update': ['admin', 'supervisor', 'agent'],
  'messages.reply': ['admin', 'supervisor', 'agent'],
  'messages.note': ['admin', 'supervisor', 'agent', 'specialist'],
  'customers.read': ['admin', 'supervisor', 'agent', 'specialist'],
  /** Saying a suggested match is not the same person. */
  'customers.match': ['admin', 'supervisor', 'agent'],
  /** Recording an address the customer gave (or removing one added by mistake). */
  'customers.update': ['admin', 'supervisor', 'agent'],
  /** Merging and splitting customers: a wrong merge shows one person's history to another. */
  'customers.merge': ['admin', 'supervisor'],
  'directory.read': ['admin', 'supervisor', 'agent', 'specialist'],
  'users.manage': ['admin'],
  'channels.read': ['admin', 'supervisor', 'agent', 'specialist'],
  'channels.manage': ['admin'],
  'email.quarantine': ['admin'],
  'email.outbox': ['admin', 'supervisor'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof permissions;

export function allows(role: Role, permission: Permission): boolean {
  return (permissions[permission] as readonly Role[]).includes(role);
}
