/** Every error code the API answers with, and its HTTP status. Defined once; clients switch on `code`. */
export const errorStatus = {
  validation_failed: 400,
  invalid_json: 400,
  unknown_field: 400,
  identity_missing: 422,
  identity_invalid: 422,
  case_number_invalid: 422,
  /** A reply on email to a customer without an email address. */
  email_recipient_missing: 422,
  /** An email that cannot be written safely (email.compose.ts ComposeError codes, prefixed). */
  email_invalid_address: 422,
  email_no_recipients: 422,
  email_too_many_recipients: 422,
  email_invalid_message_id: 422,
  email_header_not_allowed: 422,
  email_invalid_header_value: 422,
  email_invalid_attachment: 422,
  /** Files sent with a reply (multipart/form-data); limits in shared/domain/attachments.ts. */
  attachment_too_large: 413,
  attachments_too_large: 413,
  too_many_attachments: 400,
  invalid_multipart: 400,
  /** Files on a note, or on a reply that does not go out by email. */
  attachments_not_sent: 422,
  /** An IMAP mailbox's settings that contradict each other (move without a folder, …). */
  imap_settings_invalid: 422,
  /** A new or changed IMAP mailbox (host, port, security, username) without its password. */
  imap_password_required: 422,
  /** An address machines or Rapport itself send from, given as an inbound mailbox (EL-04). */
  system_address_refused: 422,
  /** A host or URL an admin gave that Rapport will not connect to: loopback, private, link-local (SS-01). */
  destination_refused: 422,
  /** A customer named twice where two different ones are needed (merge, dismiss a match). */
  same_customer: 422,
  /** A chat visitor's signed identity whose signature does not match (the widget). */
  chat_identity_invalid: 401,
  /** A signed identity sent to a chat channel that has no secret to check it with: fails closed. */
  chat_identity_not_configured: 403,
  /** A transcript asked for by a visitor who gave no email address. */
  chat_email_required: 422,
  /** A transcript with nothing to send, or no email channel to send it from. */
  chat_transcript_unavailable: 422,
  /** A platform webhook without its signature header (X-Twilio-Signature, X-Hub-Signature-256, …). */
  webhook_signature_missing: 401,
  /** A platform webhook whose signature does not match its body and URL: nothing is stored. */
  webhook_signature_invalid: 403,
  /** A webhook for a channel that has no secret (or no public URL) to check it with: fails closed. */
  webhook_not_configured: 403,
  /** A signed webhook whose body is not the platform's format. */
  webhook_payload_invalid: 400,
  /** A free-form WhatsApp reply more than 24 hours after the customer's last message: only a template may go. */
  reply_window_closed: 422,
  /** A WhatsApp template that is not among the channel's approved ones (settings.templates). */
  template_not_found: 422,
  /** A template's parameters: the wrong number, or text WhatsApp refuses (line breaks, tabs). */
  template_parameters_invalid: 422,
  /** A reply longer than its platform takes (a post on X, a WhatsApp or Instagram message, …). */
  reply_too_long: 422,
  /** A template, or a public/direct choice, where the reply cannot use it (a note, another platform, no post to answer). */
  reply_option_unavailable: 422,
  /** An outbound call logged by number when the number has no open case and none is named. */
  call_case_required: 422,
  /** An email address or phone number an agent typed for a customer that is not one: a bad field. */
  identity_value_invalid: 400,
  /** Only email addresses and phone numbers are removed by hand; the others are a channel's own keys. */
  identity_not_removable: 422,
  /** The identity belongs to another customer of the tenant; details name that customer (`customerId`). */
  identity_taken: 409,
  /** A customer keeps at least one identity: it is how their contacts find them. */
  last_identity: 409,
  invalid_transition: 409,
  invalid_cursor: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  csrf_failed: 403,
  forbidden: 403,
  not_found: 404,
  route_not_found: 404,
  case_not_found: 404,
  customer_not_found: 404,
  identity_not_found: 404,
  user_not_found: 404,
  team_not_found: 404,
  tenant_not_found: 404,
  channel_not_found: 404,
  inbound_email_not_found: 404,
  message_not_found: 404,
  attachment_not_found: 404,
  /** No live chat session with this id and token (or the token is another session's). */
  chat_session_not_found: 404,
  outbound_email_not_found: 404,
  customer_merge_not_found: 404,
  /** The customer was merged into another; details name the survivor. */
  customer_merged: 409,
  /** The merge was split already. */
  customer_merge_split: 409,
  /** Only failed outbound mail can be retried. */
  outbound_email_not_failed: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  database_unavailable: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: { path: string; message: string }[] };
}
