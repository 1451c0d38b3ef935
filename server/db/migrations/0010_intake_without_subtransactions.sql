ALTER TABLE "customers" DROP CONSTRAINT "customers_tenant_id_tenants_id_fk";
--> statement-breakpoint
-- receive_contacts learns p_isolate. Isolating each contact in its own subtransaction (so one
-- failing contact rolls back alone) costs every contact a subtransaction, though failures are
-- rare. The intake queue now writes a batch without isolation first and only when that fails
-- writes it again isolated (server/modules/contacts/intake-queue.ts).
DROP FUNCTION receive_contacts(jsonb, smallint, boolean);
--> statement-breakpoint
CREATE FUNCTION receive_contact_item(p_item jsonb) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT receive_contact(
    (p_item->>'tenant')::uuid, p_item->>'actorType', (p_item->>'actorId')::uuid,
    p_item->>'channel', p_item->>'kind', p_item->>'platform', p_item->>'value', p_item->>'name',
    p_item->>'text', p_item->>'subject', p_item->>'externalId', (p_item->>'caseNumber')::integer,
    (p_item->>'receivedAt')::timestamptz, p_item->'attributes',
    (p_item->>'caseId')::uuid, coalesce((p_item->>'automatic')::boolean, false),
    coalesce((p_item->>'continuation')::boolean, false))
$$;
--> statement-breakpoint
CREATE FUNCTION receive_contacts(p_items jsonb, p_shard smallint, p_notify_after_commit boolean DEFAULT false,
                                 p_isolate boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_item jsonb;
  v_results jsonb := '[]'::jsonb;
  v_result jsonb;
BEGIN
  PERFORM set_config('rapport.counter_shard', p_shard::text, true);
  IF p_notify_after_commit THEN
    PERFORM set_config('rapport.notify', 'after-commit', true);
  END IF;
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    IF p_isolate THEN
      BEGIN
        v_result := jsonb_build_object('ok', receive_contact_item(v_item));
      EXCEPTION WHEN OTHERS THEN
        v_result := jsonb_build_object('error', SQLSTATE, 'message', SQLERRM);
      END;
    ELSE
      v_result := jsonb_build_object('ok', receive_contact_item(v_item));
    END IF;
    v_results := v_results || jsonb_build_array(v_result);
  END LOOP;
  RETURN v_results;
END $$;
