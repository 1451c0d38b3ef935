import type { FastifyInstance } from 'fastify';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { ContactInput, ContactResult } from '../../../shared/api/contacts.ts';
import type { Metrics } from '../../http/metrics.ts';
import { receiveContact } from './receive-contact.ts';

export function contactsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.post(
    '/api/v1/contacts',
    {
      config: { permission: 'contacts.create' },
      schema: {
        tags: ['contacts'],
        summary: 'Record an inbound contact (the intake every channel uses)',
        description:
          'Resolves the customer by identity, attaches the contact to their open case (or `caseNumber`), otherwise opens a case. Idempotent on (channel, externalId): a repeated delivery answers 200 with the first result.',
        body: ContactInput,
        response: { 200: ContactResult, 201: ContactResult, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { duplicate, ...result } = await receiveContact(request.ctx, request.body as ContactInput);
      metrics.contactsIngested.inc({
        channel: result.contact.channel,
        result: duplicate ? 'duplicate' : result.repeat ? 'repeat' : 'new_case',
      });
      return reply.status(duplicate ? 200 : 201).send(result);
    },
  );
}
