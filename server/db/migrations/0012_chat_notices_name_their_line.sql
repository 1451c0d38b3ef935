-- A notice of a received contact names its channel and the platform's id for it (externalId).
-- A chat widget connection then knows its own line without reading it back: before, every
-- visitor line cost a query per watching node to fetch the message the visitor had just been
-- answered with, and a contact on any other channel one that found nothing.
-- The notice is built in one place (event_notice) for both paths: the events_notify trigger
-- and the intake's notices sent after commit (0006).
CREATE FUNCTION event_notice(p_tenant uuid, p_id bigint, p_type text, p_case uuid, p_data jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('tenantId', p_tenant, 'type', p_type, 'caseId', p_case, 'eventId', p_id)
    || CASE WHEN p_type = 'contact.received'
         THEN jsonb_build_object('channel', p_data->>'channel', 'externalId', p_data->>'externalId')
         ELSE '{}'::jsonb END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE e record;
BEGIN
  IF current_setting('rapport.notify', true) = 'after-commit' THEN
    RETURN NULL;
  END IF;
  FOR e IN SELECT id, tenant_id, type, case_id, data FROM inserted ORDER BY id LOOP
    PERFORM pg_notify('rapport_events', event_notice(e.tenant_id, e.id, e.type, e.case_id, e.data)::text);
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION receive_contact(p_item jsonb) RETURNS jsonb
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
  v_customer customers;
  v_case cases;
  v_before_status text;
  v_new_customer boolean := false;
  v_repeat boolean;
  v_continues boolean;
  v_reopen boolean;
  v_status text;
  v_conversation uuid;
  v_message uuid;
  v_customer_event jsonb;
  v_case_event text;
  v_case_data jsonb;
  v_events jsonb;
BEGIN
  IF p_external_id IS NOT NULL THEN
    SELECT * INTO v_contact FROM contacts
      WHERE tenant_id = p_tenant AND channel = p_channel AND external_id = p_external_id;
    IF FOUND THEN
      SELECT * INTO v_case FROM cases WHERE tenant_id = p_tenant AND id = v_contact.case_id;
      SELECT * INTO v_customer FROM customers WHERE tenant_id = p_tenant AND id = v_contact.customer_id;
      RETURN jsonb_build_object('duplicate', true, 'repeat', v_contact.repeat, 'contact', to_jsonb(v_contact),
        'case', to_jsonb(v_case), 'customer', customer_json(v_customer));
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

  INSERT INTO messages (tenant_id, case_id, conversation_id, kind, channel, author_customer_id, text, created_at)
    VALUES (p_tenant, v_case.id, v_conversation, 'inbound', p_channel, v_customer.id, p_item->>'text', p_received_at)
    RETURNING id INTO v_message;
  INSERT INTO contacts (tenant_id, case_id, customer_id, message_id, channel, external_id, repeat, continuation,
                        attributes, received_at)
    VALUES (p_tenant, v_case.id, v_customer.id, v_message, p_channel, p_external_id, v_repeat, v_continues,
            coalesce(p_item->'attributes', '{}'::jsonb), p_received_at)
    RETURNING * INTO v_contact;
  -- The contact's events in one statement, in the order they happened; their notices go back
  -- to the caller, which announces them after commit when it asked to (receive_contacts).
  WITH inserted AS (
    INSERT INTO events (tenant_id, type, case_id, actor_type, actor_id, data)
      SELECT p_tenant, e.type, e.case_id, p_actor_type, p_actor_id, e.data
      FROM (VALUES
        (1, 'customer.created', NULL::uuid, v_customer_event),
        (2, v_case_event, v_case.id, v_case_data),
        (3, 'contact.received', v_case.id, jsonb_build_object(
          'contactId', v_contact.id, 'messageId', v_message, 'channel', p_channel,
          'repeat', v_repeat, 'continuation', v_continues, 'customerId', v_customer.id,
          'automatic', p_automatic, 'externalId', p_external_id))) AS e(n, type, case_id, data)
      WHERE e.type IS NOT NULL AND e.data IS NOT NULL
      ORDER BY e.n
      RETURNING id, type, case_id, data)
  SELECT jsonb_agg(event_notice(p_tenant, i.id, i.type, i.case_id, i.data) ORDER BY i.id)
    INTO v_events FROM inserted i;

  RETURN jsonb_build_object('duplicate', false, 'repeat', v_repeat, 'contact', to_jsonb(v_contact),
    'case', to_jsonb(v_case), 'customer', customer_json(v_customer), 'notices', v_events);
END $$;
