import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ErrorResponse } from '../../../shared/api/common.ts';
import {
  Customer,
  CustomerMatches,
  CustomerMerges,
  CustomerQuery,
  CustomerRef,
  IdentityInput,
  IdentityRef,
  MatchRef,
  MergeInput,
  MergeRef,
  MergeResult,
} from '../../../shared/api/customers.ts';
import { AppError } from '../../errors.ts';
import { addIdentity } from './add-identity.ts';
import { parseAnyIdentity } from './customers.identity.ts';
import { dismissMatch, findMatches } from './customers.matches.ts';
import { listMerges, toCustomerMerge } from './customers.merges.ts';
import { findCustomerIdByIdentity, getCustomer } from './customers.queries.ts';
import { mergeCustomers } from './merge-customers.ts';
import { removeIdentity } from './remove-identity.ts';
import { splitCustomers } from './split-customers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A customer id from the path; anything that is not a uuid names no customer. */
function customerId(raw: string): string {
  if (!UUID.test(raw)) throw new AppError('customer_not_found', 'No such customer here');
  return raw;
}

export function customersRoutes(app: FastifyInstance): void {
  app.get(
    '/api/v1/customers',
    {
      config: { permission: 'customers.read' },
      schema: {
        tags: ['customers'],
        summary: 'Find the customer who has an identity',
        description:
          'After a merge the merged customer’s identities belong to the survivor, so this finds the survivor.',
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
        description:
          'A customer merged into another answers 200 with its own (now empty) record and `mergedIntoId` naming the survivor.',
        params: CustomerRef,
        response: { 200: Customer, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return getCustomer(request.ctx.db, request.ctx.tenantId, customerId(id));
    },
  );

  app.post(
    '/api/v1/customers/:id/identities',
    {
      config: { permission: 'customers.update' },
      schema: {
        tags: ['customers'],
        summary: 'Record an email address or phone number the customer gave',
        description:
          'Their later contacts from it find this customer (and their open case). 201 with the customer when added; 200 and nothing changes when they have it already. 409 `identity_taken` when another customer of the tenant has it (details: `customerId` names them; merge the two if they are one person), `customer_merged` for a merged record. Audited as `customer.identity_added` on the customer and each of their active cases.',
        params: CustomerRef,
        body: IdentityInput,
        response: { 200: Customer, 201: Customer, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { customer, added } = await addIdentity(
        request.ctx,
        customerId(id),
        request.body as IdentityInput,
      );
      return reply.status(added ? 201 : 200).send(customer);
    },
  );

  app.delete(
    '/api/v1/customers/:id/identities/:identityId',
    {
      config: { permission: 'customers.update' },
      schema: {
        tags: ['customers'],
        summary: 'Remove an email address or phone number recorded by mistake',
        description:
          'Answers with the customer. 422 `identity_not_removable` for a chat visitor id, social account or external id (the channel’s own), 409 `last_identity` for the customer’s only one, `customer_merged` for a merged record. Audited as `customer.identity_removed`.',
        params: IdentityRef,
        response: { 200: Customer, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id, identityId } = request.params as { id: string; identityId: string };
      if (!UUID.test(identityId))
        throw new AppError('identity_not_found', 'This customer has no such identity');
      return removeIdentity(request.ctx, customerId(id), identityId);
    },
  );

  app.get(
    '/api/v1/customers/:id/matches',
    {
      config: { permission: 'customers.read' },
      schema: {
        tags: ['customers'],
        summary: 'Probable duplicates of this customer, each with why',
        description:
          'Strong: the same email address as an identity of one and given in a chat by the other (or by both). Weak: the same full name. Merged customers and dismissed pairs are left out; a merged customer has none.',
        params: CustomerRef,
        response: { 200: CustomerMatches, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return { items: await findMatches(request.ctx, customerId(id)) };
    },
  );

  app.post(
    '/api/v1/customers/:id/matches/:otherId/dismiss',
    {
      config: { permission: 'customers.match' },
      schema: {
        tags: ['customers'],
        summary: 'Not the same person: never suggest this pair again',
        params: MatchRef,
        response: { 204: Type.Null(), '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id, otherId } = request.params as { id: string; otherId: string };
      await dismissMatch(request.ctx, customerId(id), customerId(otherId));
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/v1/customers/:id/merge',
    {
      config: { permission: 'customers.merge' },
      schema: {
        tags: ['customers'],
        summary: 'Merge another customer into this one',
        description:
          'In one transaction the merged customer’s identities, cases, conversations, contacts, the messages they wrote and their chat sessions move to this customer; the merged record keeps `mergedIntoId`. Open cases are not combined. Each moved case records `customer.merged` on its timeline. 409 `customer_merged` when either was merged already (a concurrent merge of the same pair gets it).',
        params: CustomerRef,
        body: MergeInput,
        response: { 200: MergeResult, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { mergedId } = request.body as MergeInput;
      return mergeCustomers(request.ctx, customerId(id), mergedId);
    },
  );

  app.get(
    '/api/v1/customers/:id/merges',
    {
      config: { permission: 'customers.read' },
      schema: {
        tags: ['customers'],
        summary: 'Merges this customer took part in, newest first, with what moved',
        params: CustomerRef,
        response: { 200: CustomerMerges, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { ctx } = request;
      await getCustomer(ctx.db, ctx.tenantId, customerId(id));
      return { items: (await listMerges(ctx.db, ctx.tenantId, id)).map(toCustomerMerge) };
    },
  );

  app.post(
    '/api/v1/customers/merges/:mergeId/split',
    {
      config: { permission: 'customers.merge' },
      schema: {
        tags: ['customers'],
        summary: 'Undo a wrong merge',
        description:
          'What the merge moved and the survivor still has goes back (a case even if it changed since); what reached the survivor after the merge stays. 409 `customer_merge_split` when split already, `customer_merged` while the survivor is itself merged into another.',
        params: MergeRef,
        response: { 200: MergeResult, '4xx': ErrorResponse },
      },
    },
    async (request) => {
      const { mergeId } = request.params as { mergeId: string };
      return splitCustomers(request.ctx, mergeId);
    },
  );
}
