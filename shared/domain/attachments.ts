/**
 * Files an agent sends with a reply: how many and how large. Both sides check them — the
 * composer before uploading, the server while reading the upload. Base64 makes a mail about a
 * third larger than its files, so 18 MiB of files stays under the 25 MB most relays accept.
 */
export const MAX_ATTACHMENTS = 10;
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;
export const MAX_ATTACHMENTS_TOTAL_BYTES = 18 * 1024 * 1024;
