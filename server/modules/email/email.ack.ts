/**
 * The optional acknowledgement of a new case: tells the customer their case number and who
 * looks after it, in their language. Built-in templates per locale, which a channel may
 * replace; templates are plain text with `{{placeholder}}`s. The caller tags the subject
 * (subjectWithTag) and sends it as automatic mail ('auto-replied'), never for automatic
 * inbound mail (SECURITY.md H).
 *
 * Values are data, never markup (XS-04): the HTML is the filled-in text, escaped as a whole,
 * and the subject has no line breaks. An unknown placeholder stays visible as written.
 */
import { textToHtml } from './email.html.ts';

export interface AckTemplate {
  subject: string;
  body: string;
}

interface Locale extends AckTemplate {
  /** Who "{{ownerName}}" is when the case has neither an owner nor a team. */
  team: string;
}

export const ACK_PLACEHOLDERS = [
  'customerName',
  'caseNumber',
  'ownerName',
  'organisationName',
  'subject',
] as const;
export type AckPlaceholder = (typeof ACK_PLACEHOLDERS)[number];

const LOCALES: Record<string, Locale> = {
  en: {
    subject: 'We have received your message: {{subject}}',
    body: `Hello {{customerName}},

Thank you for contacting {{organisationName}}. We have received your message and opened case #{{caseNumber}} for it.

{{ownerName}} will take care of it and get back to you. If you want to add anything, simply reply to this email.

Kind regards,
{{organisationName}}`,
    team: 'Our team',
  },
  de: {
    subject: 'Wir haben Ihre Nachricht erhalten: {{subject}}',
    body: `Guten Tag {{customerName}},

vielen Dank für Ihre Nachricht an {{organisationName}}. Wir haben sie erhalten und dazu den Vorgang #{{caseNumber}} eröffnet.

{{ownerName}} kümmert sich darum und meldet sich bei Ihnen. Wenn Sie etwas ergänzen möchten, antworten Sie einfach auf diese E-Mail.

Freundliche Grüße
{{organisationName}}`,
    team: 'Unser Team',
  },
  fr: {
    subject: 'Nous avons bien reçu votre message : {{subject}}',
    body: `Bonjour {{customerName}},

Merci d’avoir contacté {{organisationName}}. Nous avons bien reçu votre message et ouvert le dossier n° {{caseNumber}}.

{{ownerName}} s’en occupe et reviendra vers vous. Pour ajouter une information, il vous suffit de répondre à cet e-mail.

Cordialement,
{{organisationName}}`,
    team: 'Notre équipe',
  },
  nl: {
    subject: 'We hebben uw bericht ontvangen: {{subject}}',
    body: `Beste {{customerName}},

Bedankt voor uw bericht aan {{organisationName}}. We hebben het ontvangen en er dossier #{{caseNumber}} voor geopend.

{{ownerName}} neemt het in behandeling en neemt contact met u op. Wilt u nog iets toevoegen? Beantwoord dan gewoon deze e-mail.

Met vriendelijke groet,
{{organisationName}}`,
    team: 'Ons team',
  },
  es: {
    subject: 'Hemos recibido su mensaje: {{subject}}',
    body: `Hola, {{customerName}}:

Gracias por ponerse en contacto con {{organisationName}}. Hemos recibido su mensaje y hemos abierto el caso n.º {{caseNumber}}.

{{ownerName}} se encargará de él y le responderá. Si desea añadir algo, solo tiene que responder a este correo.

Atentamente,
{{organisationName}}`,
    team: 'Nuestro equipo',
  },
};

export const ACK_LOCALES = Object.keys(LOCALES);

/** `de-AT`, `de_AT`, `DE` → `de`; an unknown language → `en`. The first of a list counts. */
export function ackLocale(locale: string | null | undefined): string {
  const tag = (locale ?? '').split(/[,;]/)[0]?.trim().toLowerCase().replace(/_/g, '-') ?? '';
  if (tag in LOCALES) return tag;
  const base = tag.split('-')[0] ?? '';
  return base in LOCALES ? base : 'en';
}

export interface AckInput {
  /** The customer's language, e.g. from their profile or the mail's Content-Language. */
  locale?: string | null;
  customerName?: string | null;
  caseNumber: number;
  ownerName?: string | null;
  /** Named instead of the owner while the case waits in a team's queue. */
  teamName?: string | null;
  organisationName: string;
  /** The subject of the customer's message. */
  subject: string;
  /** A channel's own templates; either part may be left to the built-in one. */
  template?: Partial<AckTemplate> | null;
}

export interface Acknowledgement {
  subject: string;
  text: string;
  html: string;
  /** The locale of the built-in template used (a channel's own template may be in any). */
  locale: string;
}

const oneLine = (value: string) =>
  value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();

/**
 * Fill `{{name}}`s in one pass (a value is never read as a template). An empty value also
 * takes the space or comma before it when punctuation follows, so "Hello {{customerName}},"
 * reads "Hello," and "Hola, {{customerName}}:" reads "Hola:" for a customer without a name.
 */
function fill(template: string, values: Record<AckPlaceholder, string>): string {
  return template.replace(
    /(,? ?)\{\{\s*([A-Za-z]+)\s*\}\}(?=(.?))/g,
    (whole, before: string, key: string, next: string) => {
      if (!(ACK_PLACEHOLDERS as readonly string[]).includes(key)) return whole;
      const value = values[key as AckPlaceholder];
      return value === '' && /^[,.;:!?]$/.test(next) ? '' : `${before}${value}`;
    },
  );
}

export function acknowledgement(input: AckInput): Acknowledgement {
  const locale = ackLocale(input.locale);
  const builtIn = LOCALES[locale] as Locale;
  const owner = oneLine(input.ownerName ?? '') || oneLine(input.teamName ?? '') || builtIn.team;
  const values: Record<AckPlaceholder, string> = {
    customerName: oneLine(input.customerName ?? ''),
    caseNumber: String(input.caseNumber),
    ownerName: owner,
    organisationName: oneLine(input.organisationName),
    subject: oneLine(input.subject),
  };
  const subjectTemplate = input.template?.subject?.trim() || builtIn.subject;
  const bodyTemplate = input.template?.body?.trim() || builtIn.body;
  let subject = oneLine(fill(subjectTemplate, values));
  // "We have received your message: " when the customer's mail had no subject.
  if (values.subject === '') subject = subject.replace(/[\s:：-]+$/, '');
  const text = fill(bodyTemplate.replace(/\r\n?/g, '\n'), values);
  return { subject, text, html: textToHtml(text), locale };
}
