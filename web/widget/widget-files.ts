/**
 * Files on a chat message, either side's: name and size, each a button that downloads it. A
 * plain link cannot send the session token, so the file is fetched with it and saved from a blob.
 */
import type { ChatMessage } from '../../shared/api/chat.ts';
import { el } from './widget-dom.ts';

type ChatFile = ChatMessage['attachments'][number];

const size = (n: number) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${Math.round(n / 1024)} KB` : `${(n / 1048576).toFixed(1)} MB`;

/** Saves `blob` as `name` through a link that exists for one click. */
function save(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function fileList(
  files: ChatFile[],
  fetchFile: (id: string) => Promise<Response | null>,
  tell: (text: string) => void,
): HTMLElement {
  return el(
    'ul',
    { class: 'files', 'aria-label': 'Files' },
    ...files.map((f) => {
      const button = el(
        'button',
        // The name spoken starts with what the button does and holds the text shown.
        { type: 'button', class: 'file', 'aria-label': `Download ${f.filename} (${size(f.size)})` },
        `${f.filename} `,
        el('span', { class: 'meta' }, `(${size(f.size)})`),
      );
      button.onclick = async () => {
        const res = await fetchFile(f.id);
        const blob = res?.ok ? await res.blob().catch(() => null) : null;
        if (blob) save(blob, f.filename);
        else tell(`${f.filename} could not be downloaded.`);
      };
      return el('li', {}, button);
    }),
  );
}
