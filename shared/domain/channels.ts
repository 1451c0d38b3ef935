/** Every way a customer reaches us, and which kind of identity each channel carries. */
export const channels = [
  'email',
  'chat',
  'sms',
  'whatsapp',
  'messenger',
  'instagram',
  'x',
  'phone',
  'portal',
  'api',
] as const;
export type Channel = (typeof channels)[number];

export const identityKinds = ['email', 'phone', 'chat', 'social', 'external'] as const;
export type IdentityKind = (typeof identityKinds)[number];

export const socialChannels: readonly Channel[] = ['messenger', 'instagram', 'x'];

export const channelLabels: Record<Channel, string> = {
  email: 'Email',
  chat: 'Chat',
  sms: 'SMS',
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  x: 'X',
  phone: 'Phone',
  portal: 'Portal',
  api: 'API',
};
