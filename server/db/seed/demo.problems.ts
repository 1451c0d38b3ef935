/**
 * What Northwind Broadband's customers get in touch about, and how the conversation goes:
 * opening messages per kind of channel, chasers, replies, internal notes and the resolution.
 * Placeholders: {first} the customer's first name, {agent} the replying agent's first name.
 */
import type { Priority } from '../../../shared/domain/cases.ts';
import type { TeamName } from './demo.people.ts';

export interface Problem {
  subject: string;
  reason: string;
  team: TeamName;
  priority: Priority;
  tags: string[];
  /** Email and portal. */
  long: string;
  /** Chat, SMS, WhatsApp and social. */
  short: string;
  /** Phone: the agent's note of the call. */
  call: string;
  chase: string[];
  replies: string[];
  notes: string[];
  resolution: string;
  /** The customer writes back after the case was resolved. */
  reopen: string;
}

export const PROBLEMS: Problem[] = [
  {
    subject: 'No internet since this morning',
    reason: 'No service',
    team: 'Engineering',
    priority: 'high',
    tags: ['outage'],
    long: 'Hello,\n\nOur broadband has been completely down since about 7am. The router shows a red internet light and restarting it has not helped. I work from home so this is urgent.\n\nThanks,\n{first}',
    short: 'Hi, no internet at all since this morning, router light is red. Restarted twice already',
    call: 'Phone call: customer has had no service since early morning; red internet light; restarted router twice. Works from home.',
    chase: [
      'Still nothing here. Any update on when it will be back?',
      'This is the third time I have had to chase. Still no internet.',
    ],
    replies: [
      "Hi {first}, I'm sorry you're without service. I've run a line test and can see the connection dropping at the exchange side, so I've passed it to our network engineers. I'll update you as soon as I hear back. {agent}",
      'Thanks for bearing with us, {first}. Engineering have found a faulty card at your exchange and are replacing it this afternoon.',
    ],
    notes: [
      'Line test: sync lost at 06:52, no fault in the home wiring. Likely exchange side.',
      'Card replaced at the exchange; 40 lines restored including this one.',
    ],
    resolution:
      'Good news {first}: the exchange fault is fixed and your line has been stable for two hours. I have added a credit for the lost days to your next bill. {agent}',
    reopen: 'It has dropped out again, same red light as before.',
  },
  {
    subject: 'Is there an outage in my area?',
    reason: 'No service',
    team: 'Engineering',
    priority: 'high',
    tags: ['outage', 'area-incident'],
    long: 'Hi,\n\nMy neighbours and I have all lost broadband this evening. Is there a known outage on the estate? Nothing on your status page yet.\n\n{first}',
    short: 'Is there an outage near me? Whole street has lost internet',
    call: 'Phone call: customer reports the whole street has lost broadband this evening; asks for an outage update.',
    chase: ['Any ETA? Still down for the whole street.'],
    replies: [
      "Hi {first}, yes, we're aware of a fibre cut affecting your area and engineers are on site now. I've linked your account to the incident so you'll get an update as soon as it's fixed. {agent}",
    ],
    notes: ['Linked to the area incident (fibre cut on the main road by contractor works).'],
    resolution:
      'The damaged fibre has been spliced and service is back for your street, {first}. Sorry for the disruption.',
    reopen: 'Down again tonight. Is it the same problem?',
  },
  {
    subject: 'Speeds far below what I pay for',
    reason: 'Slow speed',
    team: 'Customer Care',
    priority: 'normal',
    tags: ['speed'],
    long: 'Hello,\n\nI pay for the 500 Mb package but speed tests over cable show around 60 Mb at best, and much less in the evening. Can you check what is wrong?\n\nRegards,\n{first}',
    short: 'Paying for 500Mb and getting 60 on a cable. What is going on?',
    call: 'Phone call: customer on 500 Mb tariff measuring ~60 Mb wired, worse in the evenings.',
    chase: ['Ran the tests you asked for: 58 Mb down, 20 up, on a cable.', 'Speeds are still the same.'],
    replies: [
      'Hi {first}, thanks for getting in touch. Could you run a speed test with a laptop plugged into the router by cable and send me the result? That rules out the Wi-Fi. {agent}',
      "Thanks {first}. Those results confirm the line is under-performing, so I've asked our engineers to check the line profile.",
    ],
    notes: [
      'Line profile was stuck on the old 80 Mb banding after the upgrade. Asked engineering to re-profile.',
      'Re-profiled the line; sync now 510/72.',
    ],
    resolution:
      "Your line has been re-profiled to the 500 Mb package, {first}, and I'm seeing full speed from here. Let me know if anything still looks slow. {agent}",
    reopen: 'Slow again this week, back down to about 60.',
  },
  {
    subject: 'Connection keeps dropping every evening',
    reason: 'Intermittent connection',
    team: 'Engineering',
    priority: 'normal',
    tags: ['intermittent'],
    long: 'Hi,\n\nFor the past week the internet drops for a few minutes several times every evening, usually between 7 and 10pm. It ruins video calls and streaming.\n\n{first}',
    short: 'Internet cuts out every evening for a few mins, several times a night',
    call: 'Phone call: drops of a few minutes several times each evening for a week.',
    chase: ['Dropped four times again last night.'],
    replies: [
      "Hi {first}, sorry about the dropouts. I've started a 48-hour line monitor so we can see exactly when and why it drops. I'll be back in touch once it finishes. {agent}",
    ],
    notes: ['Monitor shows errors building up at dusk: possible water in a joint. Booked an engineer check.'],
    resolution:
      'The engineer replaced a corroded joint in the street cabinet, {first}, and the monitor has been clean for three evenings. Thanks for your patience.',
    reopen: 'It has started dropping again in the evenings.',
  },
  {
    subject: 'Charged twice this month',
    reason: 'Billing error',
    team: 'Billing',
    priority: 'high',
    tags: ['billing', 'refund'],
    long: 'Hello,\n\nMy bank statement shows two direct debits from Northwind this month, both for £42.50. Please refund the duplicate.\n\nThanks,\n{first}',
    short: 'You have taken my direct debit twice this month!! Need a refund',
    call: 'Phone call: two direct debits of £42.50 taken this month; customer wants the duplicate refunded.',
    chase: ['When will the refund arrive?'],
    replies: [
      "Hi {first}, I'm sorry about that. I can see the duplicate collection and have raised a refund of £42.50; it should reach your account in 3–5 working days. {agent}",
    ],
    notes: ['Duplicate collection caused by the payment-run retry on the 3rd. Refund approved.'],
    resolution: 'The refund of £42.50 has been paid, {first}. Sorry again for the error.',
    reopen: 'Still no refund in my account after a week.',
  },
  {
    subject: 'Question about the price rise',
    reason: 'Billing query',
    team: 'Billing',
    priority: 'low',
    tags: ['billing', 'price-change'],
    long: 'Hi,\n\nI received a letter about a price rise from next month. I thought my price was fixed for my contract. Can you explain?\n\n{first}',
    short: 'Got a letter saying my price is going up. Isnt it fixed?',
    call: 'Phone call: asking why the price is going up mid-contract.',
    chase: ['Can someone answer my question about the price please?'],
    replies: [
      'Hi {first}, your contract includes a fixed annual rise each April, which is what the letter describes. You can see it in section 4 of your terms. {agent}',
    ],
    notes: ['Customer is out of contract in two months: flag for retention offer.'],
    resolution:
      'I have applied a loyalty discount that offsets the rise for the rest of your contract, {first}.',
    reopen: 'The discount is not showing on my new bill.',
  },
  {
    subject: 'Engineer did not turn up',
    reason: 'Missed appointment',
    team: 'Engineering',
    priority: 'high',
    tags: ['engineer-visit', 'complaint'],
    long: 'Hello,\n\nI took the day off work for the engineer visit booked for 8am–1pm today and nobody came, and nobody called. I am not happy.\n\n{first}',
    short: 'Waited in all morning for your engineer and nobody showed up',
    call: 'Phone call: engineer missed the 8am–1pm slot today; customer took a day off work. Unhappy.',
    chase: ['Nobody has called me back about the missed visit.', 'Still waiting for a new date.'],
    replies: [
      "Hi {first}, I'm really sorry. The visit was cancelled without anyone telling you, which should not happen. I've booked the first slot available and added compensation for the missed appointment. {agent}",
    ],
    notes: [
      'Job was cancelled by dispatch (van breakdown) and no notification was sent. Rebooked and flagged as priority.',
      'Visit completed; new line card fitted.',
    ],
    resolution:
      'The engineer has completed the visit, {first}, and the £30 missed-appointment credit is on your account. Thank you for your patience.',
    reopen: 'The engineer came but the fault is still there.',
  },
  {
    subject: 'Router lights flashing red and will not connect',
    reason: 'Equipment fault',
    team: 'Engineering',
    priority: 'normal',
    tags: ['router', 'replacement'],
    long: 'Hi,\n\nOur router has started flashing red and does not connect any more. We have tried a factory reset. Could it be faulty?\n\nThanks,\n{first}',
    short: 'Router flashing red, factory reset done, still no connection',
    call: 'Phone call: router flashing red after a factory reset; no connection.',
    chase: ['Has the new router been sent yet?'],
    replies: [
      "Hi {first}, thanks for trying the reset. From the diagnostics the router's power supply looks faulty, so I'm sending a replacement by next-day courier. {agent}",
    ],
    notes: [
      'Diagnostics: router reboots under load, classic PSU fault on this model. Replacement dispatched.',
    ],
    resolution:
      'Your replacement router was delivered this morning and is online, {first}. Please pop the old one in the returns bag when you can.',
    reopen: 'The new router is doing the same thing.',
  },
  {
    subject: 'Moving home next month',
    reason: 'Home move',
    team: 'Customer Care',
    priority: 'normal',
    tags: ['home-move'],
    long: 'Hello,\n\nWe are moving house on the 28th. How do I move my broadband to the new address without a gap in service?\n\nBest wishes,\n{first}',
    short: 'Moving house end of the month, can I take my broadband with me?',
    call: 'Phone call: moving on the 28th; wants broadband moved with no gap.',
    chase: ['Just checking the move is booked in?'],
    replies: [
      'Hi {first}, congratulations on the move! Your new address can get our full-fibre service, so I have booked the switch-over for the 28th. Your router comes with you. {agent}',
    ],
    notes: ['New address is FTTP-enabled; installation booked for the moving day.'],
    resolution: 'Your service is live at the new address, {first}. Enjoy the new home!',
    reopen: 'The move went through but the new line is not working.',
  },
  {
    subject: 'Poor Wi-Fi upstairs',
    reason: 'Wi-Fi coverage',
    team: 'Customer Care',
    priority: 'low',
    tags: ['wifi'],
    long: 'Hi,\n\nThe Wi-Fi is fine downstairs but barely works in the upstairs bedrooms. Do you have something that could help?\n\n{first}',
    short: 'wifi is terrible upstairs, fine downstairs. any ideas?',
    call: 'Phone call: weak Wi-Fi upstairs; asks about boosters.',
    chase: ['Did you get a chance to look at the booster option?'],
    replies: [
      'Hi {first}, the router in the hallway cupboard will struggle to reach upstairs. Moving it onto a shelf helps a lot, and I can also send a mesh booster at no extra cost. {agent}',
    ],
    notes: ['Offered a free mesh unit (goodwill, long-standing customer).'],
    resolution: 'Your mesh booster is on its way, {first}; it pairs with one press of the button.',
    reopen: 'The booster keeps disconnecting.',
  },
  {
    subject: 'Installation date keeps being pushed back',
    reason: 'Installation',
    team: 'Engineering',
    priority: 'high',
    tags: ['installation', 'complaint'],
    long: 'Hello,\n\nMy installation has now been moved back three times. I signed up six weeks ago and still have no service. When will it actually happen?\n\n{first}',
    short: 'Third time my install date has been moved. When will it actually happen?',
    call: 'Phone call: installation rescheduled three times in six weeks; customer still without service.',
    chase: ['Any news on a firm installation date?'],
    replies: [
      "Hi {first}, I'm sorry it has taken so long. The delays were caused by a blocked duct that needed civil works; that work is now done and your installation is confirmed for Thursday. {agent}",
    ],
    notes: ['Duct cleared by civils team; install confirmed and flagged so it cannot be moved again.'],
    resolution: 'Your installation is complete and the service is live, {first}. Welcome to Northwind!',
    reopen: 'The installer left without connecting the router.',
  },
  {
    subject: 'I want to cancel my contract',
    reason: 'Cancellation',
    team: 'Customer Care',
    priority: 'normal',
    tags: ['retention'],
    long: 'Hello,\n\nPlease treat this as notice to cancel my broadband at the end of my contract. What do I need to do?\n\n{first}',
    short: 'How do I cancel? Contract ends next month',
    call: 'Phone call: wants to cancel at the end of the contract next month.',
    chase: ['Can you confirm the cancellation please?'],
    replies: [
      "Hi {first}, sorry to hear you're thinking of leaving. Before I process it, I can offer the same package at £8 less per month for 18 months. Would that help? {agent}",
    ],
    notes: ['Retention offer made: £8/month discount for 18 months.'],
    resolution: 'Done, {first}: the new price starts from your next bill. Thanks for staying with us.',
    reopen: 'The new price is not on my bill.',
  },
  {
    subject: 'Cannot log in to my account',
    reason: 'Account access',
    team: 'Customer Care',
    priority: 'low',
    tags: ['account'],
    long: 'Hi,\n\nI cannot log in to My Northwind, and the password reset email never arrives. Could you help?\n\n{first}',
    short: 'Password reset email never arrives, cannot log in to my account',
    call: 'Phone call: cannot log in to My Northwind; reset email not arriving.',
    chase: ['Still cannot get in, the email has not come.'],
    replies: [
      'Hi {first}, the email address on your account had a typo, which is why the reset never arrived. I have corrected it; please try the reset again. {agent}',
    ],
    notes: ['Email address on account had .con instead of .com; corrected after security questions.'],
    resolution: 'Glad you are back in, {first}.',
    reopen: 'Locked out again after too many attempts.',
  },
  {
    subject: 'Change of bank details for direct debit',
    reason: 'Payment details',
    team: 'Billing',
    priority: 'low',
    tags: ['billing', 'direct-debit'],
    long: 'Hello,\n\nI have switched banks. How do I update the direct debit so the next payment does not fail?\n\nThanks,\n{first}',
    short: 'Changed banks, how do I update my direct debit?',
    call: 'Phone call: changed banks; wants the direct debit updated before the next collection.',
    chase: ['Has my direct debit been updated?'],
    replies: [
      'Hi {first}, you can update it under Billing in My Northwind, or I can send you a secure link. The next collection is on the 1st, so there is plenty of time. {agent}',
    ],
    notes: ['Secure payment-details link sent.'],
    resolution: 'Your new direct debit is set up, {first}; the next payment will come from the new account.',
    reopen: 'The payment failed anyway and I got a late fee.',
  },
  {
    subject: 'Port forwarding for a game server',
    reason: 'Technical query',
    team: 'Engineering',
    priority: 'low',
    tags: ['router', 'gaming'],
    long: 'Hi,\n\nI am trying to set up port forwarding for a game server but it does not seem to work. Are you blocking ports or am I behind CGNAT?\n\n{first}',
    short: 'Am I behind CGNAT? port forwarding not working',
    call: 'Phone call: port forwarding not working; asks about CGNAT.',
    chase: ['Any update on the public IP?'],
    replies: [
      'Hi {first}, your connection is currently behind CGNAT, which is why forwarding fails. I can move you to a public IPv4 address at no charge; it takes effect after a router restart. {agent}',
    ],
    notes: ['Moved the account from the CGNAT pool to a public IPv4.'],
    resolution: 'You now have a public IPv4 address, {first}, so port forwarding will work.',
    reopen: 'The IP changed again and the server is unreachable.',
  },
  {
    subject: 'Crackling on the phone line',
    reason: 'Line fault',
    team: 'Engineering',
    priority: 'normal',
    tags: ['line-fault', 'voice'],
    long: 'Hello,\n\nThere is a loud crackle on our landline and the broadband slows down when it is bad. Could you check the line?\n\n{first}',
    short: 'Loud crackling on the landline and the internet slows down when it happens',
    call: 'Phone call: crackle on the voice line, broadband slows when it is bad.',
    chase: ['The crackle is worse today.'],
    replies: [
      'Hi {first}, thanks for reporting it. A line test shows a fault outside your home, so I have booked an engineer for Friday. You do not need to be in. {agent}',
    ],
    notes: ['Test: high resistance fault, dropwire to pole. External visit booked.'],
    resolution: 'The engineer replaced the dropwire to the pole, {first}. The line tests clean now.',
    reopen: 'The crackle came back after the rain.',
  },
  {
    subject: 'Priority help needed: home oxygen monitor',
    reason: 'Priority support',
    team: 'Customer Care',
    priority: 'urgent',
    tags: ['vulnerable', 'outage'],
    long: 'Hello,\n\nMy father relies on a home oxygen monitor that reports over the broadband, and the connection is down. Please help urgently.\n\n{first}',
    short: 'URGENT my dad has a medical monitor on our broadband and it is down',
    call: 'Phone call: internet down; a medical monitor depends on it. Urgent.',
    chase: ['Please call me back, this is urgent.'],
    replies: [
      "Hi {first}, I've added your father to our priority services register and a 4G backup router is on its way by same-day courier. An engineer is booked for first thing tomorrow. {agent}",
    ],
    notes: ['Added to the priority services register. 4G backup dispatched same day.'],
    resolution: 'The line is fixed and the 4G backup can stay with you as a fallback, {first}.',
    reopen: 'The backup router has stopped working.',
  },
  {
    subject: 'Upgrade to full fibre',
    reason: 'Upgrade',
    team: 'Customer Care',
    priority: 'low',
    tags: ['sales', 'fttp'],
    long: 'Hi,\n\nI have seen full fibre is now available on my road. What would it cost to upgrade, and would it restart my contract?\n\n{first}',
    short: 'Full fibre is on my road now, how much to upgrade?',
    call: 'Phone call: asks about upgrading to full fibre now available on the road.',
    chase: ['Still keen to upgrade, when can you install?'],
    replies: [
      'Hi {first}, yes, your address can get full fibre. The 900 Mb package would be £4 more than you pay now on a new 18-month contract, with free installation. Shall I book it? {agent}',
    ],
    notes: ['Upgrade order placed; installation booked.'],
    resolution: 'Your full-fibre upgrade is complete, {first}. Enjoy the extra speed!',
    reopen: 'Since the upgrade the landline does not work.',
  },
];
