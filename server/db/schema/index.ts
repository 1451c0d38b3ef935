export * from './cases.ts';
export * from './channels.ts';
export * from './customers.ts';
export * from './email.ts';
export * from './tenancy.ts';
