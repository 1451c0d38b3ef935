import { Avatar } from '@mantine/core';

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const first = parts[0]?.[0] ?? '?';
  const last = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? '') : '';
  return (first + last).toUpperCase();
}

/** Initials (or the photo when there is one). Decorative: the name is always written beside it. */
export function UserAvatar({
  name,
  url,
  size = 28,
  color = 'indigo',
}: {
  name: string;
  url?: string | null;
  size?: number;
  /** Staff are indigo; customers get a neutral colour so the two read apart in a timeline. */
  color?: string;
}) {
  return (
    <Avatar src={url ?? undefined} alt="" size={size} radius="xl" color={color} variant="filled" aria-hidden>
      {initials(name)}
    </Avatar>
  );
}
