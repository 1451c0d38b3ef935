import type { FastifyInstance } from 'fastify';
import { CallInput, CallResult, CaseCallInput } from '../../../shared/api/calls.ts';
import { CaseRef } from '../../../shared/api/cases.ts';
import { ErrorResponse } from '../../../shared/api/common.ts';
import { logCall } from './log-call.ts';

export function callsRoutes(app: FastifyInstance): void {
  app.post(
    '/api/v1/calls',
    {
      config: { permission: 'messages.reply' },
      schema: {
        tags: ['calls'],
        summary: 'Log a phone call by number',
        description:
          'Inbound: a contact from the caller (their open case, `caseNumber`, or a new case). Outbound: an outbound message on `caseNumber` or the customer’s open case (`call_case_required` otherwise). The call’s details are kept in the message’s metadata.',
        body: CallInput,
        response: { 201: CallResult, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body as CallInput;
      const result = await logCall(request.ctx, {
        ...body,
        ...(body.caseNumber ? { caseRef: String(body.caseNumber) } : {}),
      });
      return reply.status(201).send(result);
    },
  );
  app.post(
    '/api/v1/cases/:id/calls',
    {
      config: { permission: 'messages.reply' },
      schema: {
        tags: ['calls'],
        summary: 'Log a phone call on a case',
        description:
          'Inbound: a contact on this case; outbound: an outbound message of it. `number` defaults to the customer’s phone number.',
        params: CaseRef,
        body: CaseCallInput,
        response: { 201: CallResult, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const result = await logCall(request.ctx, {
        ...(request.body as CaseCallInput),
        caseRef: id,
        onCase: true,
      });
      return reply.status(201).send(result);
    },
  );
}
