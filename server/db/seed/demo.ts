/**
 * The demo organisation (slug `demo`): a fictional broadband provider. Created on an empty
 * database by `npm start` and by `rapport seed demo`.
 */

import { countTenants, createTenant, createUser } from '../../modules/tenants/tenants.service.ts';
import type { Db } from '../client.ts';

export const DEMO_SIGN_IN = {
  tenant: 'demo',
  email: 'alex@northwind-broadband.example',
  password: 'rapport-demo-2026',
};

export async function seedDemo(db: Db): Promise<void> {
  const tenant = await createTenant(db, { slug: 'demo', name: 'Northwind Broadband' });
  await createUser(db, tenant.id, {
    email: DEMO_SIGN_IN.email,
    displayName: 'Alex Morgan',
    role: 'agent',
    password: DEMO_SIGN_IN.password,
  });
}

export async function seedDemoIfEmpty(db: Db): Promise<boolean> {
  if ((await countTenants(db)) > 0) return false;
  await seedDemo(db);
  return true;
}
