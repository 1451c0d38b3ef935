import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { Customer, CustomerQuery } from '../../../shared/api/customers.ts';
import { AppError } from '../../errors.ts';
import { parseAnyIdentity } from './customers.identity.ts';
import { findCustomerIdByIdentity, getCustomer } from './customers.queries.ts';

export function customersRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/customers',
    {
      config: { permission: 'customers.read' },
      schema: {
        tags: ['customers'],
        summary: 'Find the customer who has an identity',
        querystring: CustomerQuery,
        response: { 200: Type.Object({ items: Type.Array(Customer) }), '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { identity } = request.query as { identity: string };
      const { ctx } = request;
      const id = await findCustomerIdByIdentity(ctx.db, ctx.tenantId, parseAnyIdentity(identity));
      return { items: id ? [await getCustomer(ctx.db, ctx.tenantId, id)] : [] };
    },
  );
  app.get(
    '/api/v1/customers/:id',
    {
      config: { permission: 'customers.read' },
      schema: {
        tags: ['customers'],
        summary: 'One customer with their identities',
        params: Type.Object({ id: Type.String({ maxLength: 40 }) }, { additionalProperties: false }),
        response: { 200: Customer, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('customer_not_found', 'No such customer here');
      return getCustomer(request.ctx.db, request.ctx.tenantId, id);
    },
  );
}
