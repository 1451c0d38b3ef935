export * from './cases.ts';
export * from './customers.ts';
export * from './tenancy.ts';
