-- The intake writes a batch's messages, contacts and events in three statements at the end of
-- the batch, instead of three per contact. receive_contact still decides everything about a
-- contact in turn (its customer, its case, their locks and updates, which later contacts of the
-- batch see), and returns the rows it adds; receive_contacts writes them together (intake_write).
-- The backend's CPU per contact fell by about a tenth (docs/performance.md, session 10).
-- Two contacts of one batch with the same (channel, externalId): the second is answered as a
-- duplicate of the first, as it would be in a later batch.
-- receive_contacts now returns { results, notices }: the batch's notices come back once, in order.
DROP FUNCTION receive_contact(jsonb);
--> statement-breakpoint
CREATE TYPE intake_rows AS (result jsonb, message messages, contact contacts, events events[]);
--> statement-breakpoint
CREATE FUNCTION intake_event(p_tenant uuid, p_type text, p_case uuid, p_actor_type text, p_actor_id uuid, p_data jsonb)
RETURNS events
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE e events;
BEGIN
  e.tenant_id := p_tenant; e.type := p_type; e.case_id := p_case;
  e.actor_type := p_actor_type; e.actor_id := p_actor_id; e.data := p_data;
  RETURN e;
END $$;
--> statement-breakpoint
CREATE FUNCTION receive_contact(p_item jsonb) RETURNS intake_rows
LANGUAGE plpgsql AS $$
DECLARE
  p_tenant uuid := (p_item->>'tenant')::uuid;
  p_actor_type text := p_item->>'actorType';
  p_actor_id uuid := (p_item->>'actorId')::uuid;
  p_channel text := p_item->>'channel';
  p_kind text := p_item->>'kind';
  p_platform text := p_item->>'platform';
  p_value text := p_item->>'value';
  p_name text := p_item->>'name';
  p_external_id text := p_item->>'externalId';
  p_case_number integer := (p_item->>'caseNumber')::integer;
  p_received_at timestamptz := (p_item->>'receivedAt')::timestamptz;
  p_case_id uuid := (p_item->>'caseId')::uuid;
  p_automatic boolean := coalesce((p_item->>'automatic')::boolean, false);
  p_continuation boolean := coalesce((p_item->>'continuation')::boolean, false);
  p_profile jsonb := p_item->'profile';
  v_contact contacts;
  v_message messages;
  v_events events[] := '{}';
  v_rows intake_rows;
  v_customer customers;
  v_case cases;
  v_before_status text;
  v_new_customer boolean := false;
  v_repeat boolean;
  v_continues boolean;
  v_reopen boolean;
  v_status text;
  v_conversation uuid;
  v_customer_event jsonb;
  v_case_event text;
  v_case_data jsonb;
BEGIN
  IF p_external_id IS NOT NULL THEN
    SELECT * INTO v_contact FROM contacts
      WHERE tenant_id = p_tenant AND channel = p_channel AND external_id = p_external_id;
    IF FOUND THEN
      SELECT * INTO v_case FROM cases WHERE tenant_id = p_tenant AND id = v_contact.case_id;
      SELECT * INTO v_customer FROM customers WHERE tenant_id = p_tenant AND id = v_contact.customer_id;
      v_rows.result := jsonb_build_object('duplicate', true, 'repeat', v_contact.repeat, 'contact', to_jsonb(v_contact),
        'case', to_jsonb(v_case), 'customer', customer_json(v_customer));
      RETURN v_rows;
    END IF;
  END IF;

  -- Locking the customer makes concurrent contacts from one customer pick the same case.
  SELECT c.* INTO v_customer FROM customers c
    WHERE c.tenant_id = p_tenant AND c.id = (
      SELECT customer_id FROM customer_identities
      WHERE tenant_id = p_tenant AND kind = p_kind AND platform = p_platform AND value = p_value)
    FOR UPDATE OF c;
  IF NOT FOUND THEN
    INSERT INTO customers (tenant_id, name) VALUES (p_tenant, p_name) RETURNING * INTO v_customer;
    INSERT INTO customer_identities (tenant_id, customer_id, kind, platform, value, profile)
      VALUES (p_tenant, v_customer.id, p_kind, p_platform, p_value, p_profile);
    v_new_customer := true;
    v_customer_event := jsonb_build_object(
      'customerId', v_customer.id, 'identity', jsonb_build_object('kind', p_kind, 'value', p_value));
  ELSE
    IF p_name IS NOT NULL AND v_customer.name IS NULL THEN
      UPDATE customers SET name = p_name, updated_at = now()
        WHERE tenant_id = p_tenant AND id = v_customer.id RETURNING * INTO v_customer;
    END IF;
    IF p_profile IS NOT NULL THEN
      UPDATE customer_identities SET profile = p_profile
        WHERE tenant_id = p_tenant AND kind = p_kind AND platform = p_platform AND value = p_value
          AND profile IS DISTINCT FROM p_profile;
    END IF;
  END IF;

  IF p_case_id IS NOT NULL THEN
    SELECT * INTO v_case FROM cases WHERE tenant_id = p_tenant AND id = p_case_id FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'Case % does not exist', p_case_id USING ERRCODE = 'R0002';
    END IF;
  ELSIF p_case_number IS NOT NULL THEN
    SELECT * INTO v_case FROM cases WHERE tenant_id = p_tenant AND number = p_case_number FOR UPDATE;
    IF NOT FOUND OR v_case.customer_id <> v_customer.id THEN
      RAISE EXCEPTION 'Case #% is not a case of this customer', p_case_number USING ERRCODE = 'R0001';
    END IF;
  ELSIF NOT v_new_customer THEN
    SELECT * INTO v_case FROM cases
      WHERE tenant_id = p_tenant AND customer_id = v_customer.id AND active
      ORDER BY updated_at DESC, id DESC LIMIT 1 FOR UPDATE;
  END IF;
  -- Automatic mail joins a case without counting as the customer's contact: no repeat, no
  -- reopening, a pending case stays pending (SECURITY.md EL-01).
  -- A further line of a live conversation on its trusted case (a chat session) continues the
  -- contact already counted; once the case was resolved or closed, it is a new contact again.
  v_continues := p_continuation AND p_case_id IS NOT NULL AND v_case.status NOT IN ('resolved', 'closed');
  v_repeat := v_case.id IS NOT NULL AND NOT p_automatic AND NOT v_continues;

  IF v_repeat THEN
    -- A further contact brings a pending case back to open and reopens a resolved or closed one.
    v_before_status := v_case.status;
    v_reopen := v_case.status IN ('resolved', 'closed');
    v_status := CASE WHEN v_reopen OR v_case.status = 'pending' THEN 'open' ELSE v_case.status END;
    UPDATE cases SET
        contact_count = contact_count + 1,
        repeat_contact_count = repeat_contact_count + 1,
        reopen_count = reopen_count + CASE WHEN v_reopen THEN 1 ELSE 0 END,
        status = v_status,
        resolved_at = CASE WHEN v_reopen THEN NULL ELSE resolved_at END,
        closed_at = CASE WHEN v_reopen THEN NULL ELSE closed_at END,
        last_contact_at = greatest(last_contact_at, p_received_at),
        updated_at = now()
      WHERE tenant_id = p_tenant AND id = v_case.id
      RETURNING * INTO v_case;
    IF v_reopen THEN
      v_case_event := 'case.reopened';
      v_case_data := jsonb_build_object('from', v_before_status, 'by', 'contact');
    ELSIF v_status <> v_before_status THEN
      v_case_event := 'case.status_changed';
      v_case_data := jsonb_build_object('from', v_before_status, 'to', v_status);
    END IF;
  ELSIF v_continues THEN
    v_before_status := v_case.status;
    UPDATE cases SET
        status = CASE WHEN status = 'pending' THEN 'open' ELSE status END,
        last_contact_at = greatest(last_contact_at, p_received_at),
        updated_at = now()
      WHERE tenant_id = p_tenant AND id = v_case.id
      RETURNING * INTO v_case;
    IF v_case.status <> v_before_status THEN
      v_case_event := 'case.status_changed';
      v_case_data := jsonb_build_object('from', v_before_status, 'to', v_case.status);
    END IF;
  ELSIF v_case.id IS NULL THEN
    INSERT INTO cases (tenant_id, number, subject, customer_id, channel, contact_count, last_contact_at)
      VALUES (p_tenant, next_case_number(p_tenant), p_item->>'subject', v_customer.id, p_channel, 1, p_received_at)
      RETURNING * INTO v_case;
    v_case_event := 'case.opened';
    v_case_data := jsonb_build_object('number', v_case.number, 'customerId', v_customer.id, 'channel', p_channel);
  END IF;

  -- The case's conversation on this channel, created on first use (a case opened just now has none).
  IF v_case_event IS DISTINCT FROM 'case.opened' THEN
    SELECT id INTO v_conversation FROM conversations
      WHERE tenant_id = p_tenant AND case_id = v_case.id AND channel = p_channel;
  END IF;
  IF v_conversation IS NULL THEN
    INSERT INTO conversations (tenant_id, case_id, customer_id, channel)
      VALUES (p_tenant, v_case.id, v_customer.id, p_channel)
      ON CONFLICT (tenant_id, case_id, channel) DO UPDATE SET channel = excluded.channel
      RETURNING id INTO v_conversation;
  END IF;

  -- What the contact adds, for receive_contacts to write with the rest of its batch.
  v_message.tenant_id := p_tenant;
  v_message.id := gen_random_uuid();
  v_message.case_id := v_case.id;
  v_message.conversation_id := v_conversation;
  v_message.kind := 'inbound';
  v_message.channel := p_channel;
  v_message.author_customer_id := v_customer.id;
  v_message.text := p_item->>'text';
  v_message.created_at := p_received_at;
  v_contact.tenant_id := p_tenant;
  v_contact.id := gen_random_uuid();
  v_contact.case_id := v_case.id;
  v_contact.customer_id := v_customer.id;
  v_contact.message_id := v_message.id;
  v_contact.channel := p_channel;
  v_contact.external_id := p_external_id;
  v_contact.repeat := v_repeat;
  v_contact.continuation := v_continues;
  v_contact.attributes := coalesce(p_item->'attributes', '{}'::jsonb);
  v_contact.received_at := p_received_at;
  v_contact.created_at := now();
  -- Its events, in the order they happened.
  IF v_customer_event IS NOT NULL THEN
    v_events := v_events || intake_event(p_tenant, 'customer.created', NULL, p_actor_type, p_actor_id, v_customer_event);
  END IF;
  IF v_case_event IS NOT NULL AND v_case_data IS NOT NULL THEN
    v_events := v_events || intake_event(p_tenant, v_case_event, v_case.id, p_actor_type, p_actor_id, v_case_data);
  END IF;
  v_events := v_events || intake_event(p_tenant, 'contact.received', v_case.id, p_actor_type, p_actor_id,
    jsonb_build_object('contactId', v_contact.id, 'messageId', v_message.id, 'channel', p_channel,
      'repeat', v_repeat, 'continuation', v_continues, 'customerId', v_customer.id,
      'automatic', p_automatic, 'externalId', p_external_id));

  v_rows.result := jsonb_build_object('duplicate', false, 'repeat', v_repeat, 'contact', to_jsonb(v_contact),
    'case', to_jsonb(v_case), 'customer', customer_json(v_customer));
  v_rows.message := v_message;
  v_rows.contact := v_contact;
  v_rows.events := v_events;
  RETURN v_rows;
END $$;
--> statement-breakpoint
-- Writes what receive_contact returned for some contacts; returns the notices of their events.
CREATE FUNCTION intake_write(p_messages messages[], p_contacts contacts[], p_events events[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE v_notices jsonb;
BEGIN
  INSERT INTO messages (tenant_id, id, case_id, conversation_id, kind, channel, author_customer_id, text, created_at)
    SELECT m.tenant_id, m.id, m.case_id, m.conversation_id, m.kind, m.channel, m.author_customer_id, m.text, m.created_at
    FROM unnest(p_messages) AS m;
  INSERT INTO contacts (tenant_id, id, case_id, customer_id, message_id, channel, external_id, repeat, continuation,
                        attributes, received_at, created_at)
    SELECT c.tenant_id, c.id, c.case_id, c.customer_id, c.message_id, c.channel, c.external_id, c.repeat,
           c.continuation, c.attributes, c.received_at, c.created_at
    FROM unnest(p_contacts) AS c;
  -- Identity values are drawn in the order the rows are inserted, which ORDER BY fixes.
  WITH inserted AS (
    INSERT INTO events (tenant_id, type, case_id, actor_type, actor_id, data)
      SELECT e.tenant_id, e.type, e.case_id, e.actor_type, e.actor_id, e.data
      FROM unnest(p_events) WITH ORDINALITY AS e
      ORDER BY e.ordinality
      RETURNING id, tenant_id, type, case_id, data)
  SELECT jsonb_agg(event_notice(i.tenant_id, i.id, i.type, i.case_id, i.data) ORDER BY i.id)
    INTO v_notices FROM inserted i;
  RETURN coalesce(v_notices, '[]'::jsonb);
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION receive_contacts(p_items jsonb, p_shard smallint, p_notify_after_commit boolean DEFAULT false,
                                            p_isolate boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_item jsonb;
  v_rows intake_rows;
  v_key text;
  v_results jsonb[] := '{}';
  v_messages messages[] := '{}';
  v_contacts contacts[] := '{}';
  v_events events[] := '{}';
  v_notices jsonb := '[]';
  -- (tenant, channel, externalId) of this batch's contacts -> their place in v_results.
  v_seen jsonb := '{}';
BEGIN
  PERFORM set_config('rapport.counter_shard', p_shard::text, true);
  IF p_notify_after_commit THEN
    PERFORM set_config('rapport.notify', 'after-commit', true);
  END IF;
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    v_key := CASE WHEN v_item->>'externalId' IS NOT NULL
                  THEN concat_ws(' ', v_item->>'tenant', v_item->>'channel', v_item->>'externalId') END;
    IF v_key IS NOT NULL AND v_seen ? v_key THEN
      v_results := v_results || jsonb_set(v_results[(v_seen->>v_key)::int], '{ok,duplicate}', 'true');
      CONTINUE;
    END IF;
    IF p_isolate THEN
      -- Each contact in a subtransaction of its own, written at once: only a failing one fails.
      BEGIN
        v_rows := receive_contact(v_item);
        IF (v_rows.contact).id IS NOT NULL THEN
          v_notices := v_notices || intake_write(ARRAY[v_rows.message], ARRAY[v_rows.contact], v_rows.events);
        END IF;
        v_results := v_results || jsonb_build_object('ok', v_rows.result);
      EXCEPTION WHEN OTHERS THEN
        v_results := v_results || jsonb_build_object('error', SQLSTATE, 'message', SQLERRM);
      END;
    ELSE
      v_rows := receive_contact(v_item);
      IF (v_rows.contact).id IS NOT NULL THEN
        v_messages := v_messages || v_rows.message;
        v_contacts := v_contacts || v_rows.contact;
        v_events := v_events || v_rows.events;
      END IF;
      v_results := v_results || jsonb_build_object('ok', v_rows.result);
    END IF;
    IF v_key IS NOT NULL AND v_results[cardinality(v_results)] ? 'ok' THEN
      v_seen := v_seen || jsonb_build_object(v_key, cardinality(v_results));
    END IF;
  END LOOP;
  IF NOT p_isolate AND cardinality(v_contacts) > 0 THEN
    v_notices := intake_write(v_messages, v_contacts, v_events);
  END IF;
  RETURN jsonb_build_object('results', to_jsonb(v_results), 'notices', v_notices);
END $$;
