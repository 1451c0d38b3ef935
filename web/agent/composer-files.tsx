/**
 * Files to send with a reply: picked with the Attach button or dropped on the composer, listed
 * with their size, removable one by one. The server's limits are checked here first, so a file
 * that cannot go is refused before anything is uploaded, with the reason. In the chat only the
 * types the widget shows may go (the server also checks the bytes).
 */
import { Button, CloseButton, FileButton, Group, Text } from '@mantine/core';
import { type DragEvent, useRef, useState } from 'react';
import {
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS,
  MAX_ATTACHMENTS_TOTAL_BYTES,
} from '../../shared/domain/attachments.ts';
import { byteSize } from '../ui/byte-size.ts';

export interface AttachedFiles {
  files: File[];
  /** Why the last files offered were not attached; null when they were. */
  refusal: string | null;
  /** The only types that may go; null, any. */
  types: readonly string[] | null;
  add(offered: File[]): void;
  remove(index: number): void;
  clear(): void;
  /** Drop-target handlers for the element files may be dropped on, and whether a drag is over it. */
  dropTarget: {
    onDragOver(event: DragEvent): void;
    onDragLeave(event: DragEvent): void;
    onDrop(event: DragEvent): void;
  };
  dragging: boolean;
}

const hasFiles = (event: DragEvent) => [...event.dataTransfer.types].includes('Files');

/** `types`: the only types that may go (a reply in the chat); null, any. */
export function useAttachedFiles(enabled: boolean, types: readonly string[] | null = null): AttachedFiles {
  const [files, setFiles] = useState<File[]>([]);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);

  const add = (offered: File[]) => {
    if (offered.length === 0) return;
    const next = [...files];
    for (const file of offered) {
      if (types && !types.includes(file.type)) {
        setRefusal(
          `“${file.name}” cannot go in the chat: send images (PNG, JPEG, GIF, WebP), PDF or plain text.`,
        );
        return;
      }
      if (file.size > MAX_ATTACHMENT_BYTES) {
        setRefusal(
          `“${file.name}” is ${byteSize(file.size)}; one file can be ${byteSize(MAX_ATTACHMENT_BYTES)} at most.`,
        );
        return;
      }
      next.push(file);
    }
    if (next.length > MAX_ATTACHMENTS) {
      setRefusal(`A reply can carry ${MAX_ATTACHMENTS} files at most.`);
      return;
    }
    const total = next.reduce((sum, f) => sum + f.size, 0);
    if (total > MAX_ATTACHMENTS_TOTAL_BYTES) {
      setRefusal(
        `These files come to ${byteSize(total)}; a reply can carry ${byteSize(MAX_ATTACHMENTS_TOTAL_BYTES)} in all.`,
      );
      return;
    }
    setRefusal(null);
    setFiles(next);
  };

  return {
    files,
    refusal,
    types,
    add,
    remove: (index) => {
      setRefusal(null);
      setFiles(files.filter((_, i) => i !== index));
    },
    clear: () => {
      setRefusal(null);
      setFiles([]);
    },
    dragging,
    dropTarget: {
      onDragOver(event) {
        if (!enabled || !hasFiles(event)) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        setDragging(true);
      },
      onDragLeave(event) {
        // Leaving for a child of the target is not leaving the target.
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
      },
      onDrop(event) {
        setDragging(false);
        if (!enabled || !hasFiles(event)) return;
        event.preventDefault();
        add([...event.dataTransfer.files]);
      },
    },
  };
}

/** The Attach button, the list of files with their sizes, and why a file was refused. */
export function FileList({ attached, disabled }: { attached: AttachedFiles; disabled: boolean }) {
  const { files, refusal } = attached;
  // Cleared after each pick, so a file removed from the list can be picked again.
  const resetPicker = useRef<() => void>(null);
  return (
    <div className="composer-files">
      <Group gap="xs" wrap="nowrap">
        <FileButton
          onChange={(picked) => {
            attached.add(picked);
            resetPicker.current?.();
          }}
          resetRef={resetPicker}
          multiple
          disabled={disabled}
        >
          {(props) => (
            <Button {...props} variant="default" size="compact-xs" disabled={disabled}>
              Attach files
            </Button>
          )}
        </FileButton>
        <Text size="xs" c="dimmed">
          or drop them here · up to {MAX_ATTACHMENTS} files, {byteSize(MAX_ATTACHMENTS_TOTAL_BYTES)} in all
          {attached.types ? ' · images, PDF or plain text' : ''}
        </Text>
      </Group>
      {files.length > 0 ? (
        <ul className="composer-file-list" aria-label="Files to send">
          {files.map((file, i) => (
            <li key={`${file.name}-${i}`}>
              <Text span size="sm" className="composer-file-name">
                {file.name}
              </Text>
              <Text span size="xs" c="dimmed">
                {byteSize(file.size)}
              </Text>
              <CloseButton
                size="sm"
                aria-label={`Remove ${file.name}`}
                onClick={() => attached.remove(i)}
                disabled={disabled}
              />
            </li>
          ))}
        </ul>
      ) : null}
      {refusal ? (
        <Text size="xs" c="red.9" role="alert" mt={4} data-testid="file-refused">
          {refusal}
        </Text>
      ) : null}
    </div>
  );
}
