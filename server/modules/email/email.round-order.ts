/**
 * A round's mail in queues that may run at once (their contacts share the intake's group commit):
 * one sender's mail, and every message that answers another of the round, share a queue, where an
 * answered message comes before its answers and the rest keep their arrival order. Arrival times
 * can tie (several messages stored within a millisecond), so answers are ordered by what they
 * answer, not by time alone.
 */
export function threadQueues<T extends { keys: OrderKeys }>(rows: T[]): T[][] {
  const byMessageId = new Map<string, T>();
  for (const row of rows) if (row.keys.messageId) byMessageId.set(row.keys.messageId, row);
  // Union-find over the round: same sender, or one answers the other.
  const parent = new Map<T, T>(rows.map((r) => [r, r]));
  const find = (r: T): T => {
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const union = (a: T, b: T) => parent.set(find(a), find(b));
  const bySender = new Map<string, T>();
  for (const row of rows) {
    const first = bySender.get(row.keys.sender);
    if (first) union(row, first);
    else bySender.set(row.keys.sender, row);
    for (const ref of row.keys.refs) {
      const answered = byMessageId.get(ref);
      if (answered && answered !== row) union(row, answered);
    }
  }
  // In each queue: arrival order, except that a message goes after the ones it answers.
  const queues = new Map<T, T[]>();
  const placed = new Set<T>();
  const place = (row: T, visiting: Set<T>) => {
    if (placed.has(row) || visiting.has(row)) return;
    visiting.add(row);
    for (const ref of row.keys.refs) {
      const answered = byMessageId.get(ref);
      if (answered) place(answered, visiting);
    }
    placed.add(row);
    const root = find(row);
    queues.set(root, [...(queues.get(root) ?? []), row]);
  };
  for (const row of rows) place(row, new Set());
  return [...queues.values()];
}

export interface OrderKeys {
  sender: string;
  messageId: string | null;
  /** In-Reply-To and References. */
  refs: string[];
}

/** From the raw header block: who sent it and which messages it answers, to keep threads in order. */
export function orderKeys(head: Buffer): OrderKeys {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const block = (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n[ \t]+/g, ' ');
  const header = (name: string) => new RegExp(`^${name}:(.*)$`, 'im').exec(block)?.[1] ?? '';
  const ids = (value: string) => [...value.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!.toLowerCase());
  const from = header('from');
  return {
    sender: (/<([^<>]*)>/.exec(from)?.[1] ?? from).trim().toLowerCase(),
    messageId: ids(header('message-id'))[0] ?? null,
    refs: [...ids(header('in-reply-to')), ...ids(header('references'))],
  };
}
