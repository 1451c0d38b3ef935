/**
 * Every platform adapter, by channel type. A new platform is one file in this folder
 * implementing ChannelPlatform (platform.ts) and one line here; the webhook route, the delivery
 * sender and the composer's limits pick it up from this table.
 */
import type { PlatformChannelType } from '../../../../shared/api/channel-settings.ts';
import { instagram } from './instagram.ts';
import { messenger } from './messenger.ts';
import type { ChannelPlatform } from './platform.ts';
import { twilioSms } from './twilio-sms.ts';
import { twilioVoice } from './twilio-voice.ts';
import { whatsapp } from './whatsapp.ts';
import { x } from './x.ts';

const platforms: Partial<Record<PlatformChannelType, ChannelPlatform>> = {
  sms: twilioSms,
  phone: twilioVoice,
  whatsapp,
  messenger,
  instagram,
  x,
};

/** The adapter of a channel type; null for types without one (email, chat, or not built yet). */
export function platformFor(type: string): ChannelPlatform | null {
  return platforms[type as PlatformChannelType] ?? null;
}
