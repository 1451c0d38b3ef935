/** Files on a timeline message (an email's attachments, files either side sent in the chat): each downloads. */
import { Text } from '@mantine/core';
import type { MessageFile } from '../../shared/api/cases.ts';
import { byteSize } from '../ui/byte-size.ts';

export function AttachmentList({ files }: { files: readonly MessageFile[] }) {
  if (files.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {files.map((a) => (
        <li key={a.id}>
          <a href={`/api/v1/attachments/${a.id}`} download={a.filename}>
            {a.filename}
          </a>{' '}
          <Text span size="xs" c="dimmed">
            {byteSize(a.size)}
          </Text>
        </li>
      ))}
    </ul>
  );
}
