-- The intake writes a batch's messages, contacts and events with one statement each instead of
-- three per contact. receive_contact now decides a contact (customer, case, conversation: what
-- later contacts of the same batch must see at once) and hands back the rows to append, with
-- their ids taken up front; receive_contacts appends them when the batch is decided. Isolated
-- (each contact in its own subtransaction, after a batch failed) it appends each contact's rows
-- at once, so a duplicate external id within one batch is found as before.
-- A contact can carry what its platform says about the sender (p_item.profile: an X follower
-- count, a WhatsApp display name, an SMS sender's city), kept on their identity for agents to
-- read and nothing else (tests/no-loudness-bonus.test.ts); the latest message's profile wins.
-- It used to be a statement and a commit of its own after each webhook's contacts.
DROP FUNCTION receive_contacts(jsonb, smallint, boolean, boolean);
--> statement-breakpoint
DROP FUNCTION receive_contact_item(jsonb);
--> statement-breakpoint
DROP FUNCTION receive_contact(uuid, text, uuid, text, text, text, text, text, text, text, text, integer,
  timestamptz, jsonb, uuid, boolean, boolean);
--> statement-breakpoint
CREATE FUNCTION receive_contact(
  p_item jsonb,
  OUT r_result jsonb, OUT r_message messages, OUT r_contact contacts, OUT r_events events[]
) LANGUAGE plpgsql AS $$
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
  v_customer customers;
  v_case cases;
  v_before_status text;
  v_new_customer boolean := false;
  v_opened boolean := false;
  v_repeat boolean;
  v_continues boolean;
  v_reopen boolean;
  v_status text;
  v_conversation uuid;
  v_event events;
  v_event_types text[] := '{}';
  v_event_data jsonb[] := '{}';
  v_event_cases uuid[] := '{}';
  v_notices jsonb := '[]'::jsonb;
BEGIN
  r_events := '{}';
  IF p_external_id IS NOT NULL THEN
    SELECT * INTO v_contact FROM contacts
      WHERE tenant_id = p_tenant AND channel = p_channel AND external_id = p_external_id;
    IF FOUND THEN
      SELECT * INTO v_case FROM cases WHERE tenant_id = p_tenant AND id = v_contact.case_id;
      SELECT * INTO v_customer FROM customers WHERE tenant_id = p_tenant AND id = v_contact.customer_id;
      r_result := jsonb_build_object('duplicate', true, 'repeat', v_contact.repeat, 'contact', to_jsonb(v_contact),
        'case', to_jsonb(v_case), 'customer', customer_json(v_customer));
      RETURN;
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
    v_event_types := v_event_types || 'customer.created'::text;
    v_event_cases := v_event_cases || NULL::uuid;
    v_event_data := v_event_data || jsonb_build_object(
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
      v_event_types := v_event_types || 'case.reopened'::text;
      v_event_cases := v_event_cases || v_case.id;
      v_event_data := v_event_data || jsonb_build_object('from', v_before_status, 'by', 'contact');
    ELSIF v_status <> v_before_status THEN
      v_event_types := v_event_types || 'case.status_changed'::text;
      v_event_cases := v_event_cases || v_case.id;
      v_event_data := v_event_data || jsonb_build_object('from', v_before_status, 'to', v_status);
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
      v_event_types := v_event_types || 'case.status_changed'::text;
      v_event_cases := v_event_cases || v_case.id;
      v_event_data := v_event_data || jsonb_build_object('from', v_before_status, 'to', v_case.status);
    END IF;
  ELSIF v_case.id IS NULL THEN
    INSERT INTO cases (tenant_id, number, subject, customer_id, channel, contact_count, last_contact_at)
      VALUES (p_tenant, next_case_number(p_tenant), p_item->>'subject', v_customer.id, p_channel, 1, p_received_at)
      RETURNING * INTO v_case;
    v_opened := true;
    v_event_types := v_event_types || 'case.opened'::text;
    v_event_cases := v_event_cases || v_case.id;
    v_event_data := v_event_data || jsonb_build_object(
      'number', v_case.number, 'customerId', v_customer.id, 'channel', p_channel);
  END IF;

  -- The case's conversation on this channel, created on first use (a case opened just now has none).
  IF NOT v_opened THEN
    SELECT id INTO v_conversation FROM conversations
      WHERE tenant_id = p_tenant AND case_id = v_case.id AND channel = p_channel;
  END IF;
  IF v_conversation IS NULL THEN
    INSERT INTO conversations (tenant_id, case_id, customer_id, channel)
      VALUES (p_tenant, v_case.id, v_customer.id, p_channel)
      ON CONFLICT (tenant_id, case_id, channel) DO UPDATE SET channel = excluded.channel
      RETURNING id INTO v_conversation;
  END IF;

  -- The rows to append, complete with their ids, so that the result can name them now.
  r_message.tenant_id := p_tenant;
  r_message.id := gen_random_uuid();
  r_message.case_id := v_case.id;
  r_message.conversation_id := v_conversation;
  r_message.kind := 'inbound';
  r_message.channel := p_channel;
  r_message.author_customer_id := v_customer.id;
  r_message.text := p_item->>'text';
  r_message.created_at := p_received_at;
  r_contact.tenant_id := p_tenant;
  r_contact.id := gen_random_uuid();
  r_contact.case_id := v_case.id;
  r_contact.customer_id := v_customer.id;
  r_contact.message_id := r_message.id;
  r_contact.channel := p_channel;
  r_contact.external_id := p_external_id;
  r_contact.repeat := v_repeat;
  r_contact.continuation := v_continues;
  r_contact.attributes := coalesce(p_item->'attributes', '{}'::jsonb);
  r_contact.received_at := p_received_at;
  r_contact.created_at := now();
  v_event_types := v_event_types || 'contact.received'::text;
  v_event_cases := v_event_cases || v_case.id;
  v_event_data := v_event_data || jsonb_build_object(
    'contactId', r_contact.id, 'messageId', r_message.id, 'channel', p_channel,
    'repeat', v_repeat, 'continuation', v_continues, 'customerId', v_customer.id,
    'automatic', p_automatic);
  -- Events in the order they happened; their notices go back to the caller, which announces
  -- them after commit when it asked to (receive_contacts).
  FOR i IN 1 .. array_length(v_event_types, 1) LOOP
    v_event.id := nextval('events_id_seq');
    v_event.tenant_id := p_tenant;
    v_event.type := v_event_types[i];
    v_event.case_id := v_event_cases[i];
    v_event.actor_type := p_actor_type;
    v_event.actor_id := p_actor_id;
    v_event.data := v_event_data[i];
    v_event.created_at := now();
    r_events := r_events || v_event;
    v_notices := v_notices || jsonb_build_object(
      'tenantId', p_tenant, 'type', v_event.type, 'caseId', v_event.case_id, 'eventId', v_event.id);
  END LOOP;

  r_result := jsonb_build_object('duplicate', false, 'repeat', v_repeat, 'contact', to_jsonb(r_contact),
    'case', to_jsonb(v_case), 'customer', customer_json(v_customer), 'notices', v_notices);
END $$;
--> statement-breakpoint
CREATE FUNCTION intake_append(p_messages messages[], p_contacts contacts[], p_events events[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO messages (tenant_id, id, case_id, conversation_id, kind, channel, author_customer_id, text, created_at)
    SELECT m.tenant_id, m.id, m.case_id, m.conversation_id, m.kind, m.channel, m.author_customer_id, m.text,
           m.created_at
    FROM unnest(p_messages) AS m;
  INSERT INTO contacts (tenant_id, id, case_id, customer_id, message_id, channel, external_id, repeat, continuation,
                        attributes, received_at, created_at)
    SELECT c.tenant_id, c.id, c.case_id, c.customer_id, c.message_id, c.channel, c.external_id, c.repeat,
           c.continuation, c.attributes, c.received_at, c.created_at
    FROM unnest(p_contacts) AS c;
  INSERT INTO events (id, tenant_id, type, case_id, actor_type, actor_id, data, created_at) OVERRIDING SYSTEM VALUE
    SELECT e.id, e.tenant_id, e.type, e.case_id, e.actor_type, e.actor_id, e.data, e.created_at
    FROM unnest(p_events) AS e ORDER BY e.id;
END $$;
--> statement-breakpoint
CREATE FUNCTION receive_contacts(p_items jsonb, p_shard smallint, p_notify_after_commit boolean DEFAULT false,
                                 p_isolate boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_item jsonb;
  v_w record;
  -- An array of results, turned into JSON once: appending to a JSON array copies all of it.
  v_results jsonb[] := '{}';
  v_messages messages[] := '{}';
  v_contacts contacts[] := '{}';
  v_events events[] := '{}';
BEGIN
  PERFORM set_config('rapport.counter_shard', p_shard::text, true);
  IF p_notify_after_commit THEN
    PERFORM set_config('rapport.notify', 'after-commit', true);
  END IF;
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    IF p_isolate THEN
      BEGIN
        v_w := receive_contact(v_item);
        IF (v_w.r_contact).id IS NOT NULL THEN
          PERFORM intake_append(ARRAY[v_w.r_message], ARRAY[v_w.r_contact], v_w.r_events);
        END IF;
        v_results := v_results || jsonb_build_object('ok', v_w.r_result);
      EXCEPTION WHEN OTHERS THEN
        v_results := v_results || jsonb_build_object('error', SQLSTATE, 'message', SQLERRM);
      END;
    ELSE
      v_w := receive_contact(v_item);
      IF (v_w.r_contact).id IS NOT NULL THEN
        v_messages := v_messages || v_w.r_message;
        v_contacts := v_contacts || v_w.r_contact;
        v_events := v_events || v_w.r_events;
      END IF;
      v_results := v_results || jsonb_build_object('ok', v_w.r_result);
    END IF;
  END LOOP;
  IF cardinality(v_contacts) > 0 THEN
    PERFORM intake_append(v_messages, v_contacts, v_events);
  END IF;
  RETURN to_jsonb(v_results);
END $$;
