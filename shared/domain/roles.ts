export const roles = ['admin', 'supervisor', 'agent', 'specialist'] as const;
export type Role = (typeof roles)[number];
