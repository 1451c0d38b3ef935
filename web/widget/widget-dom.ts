/** The widget's small DOM and storage helpers. */

/** An element with attributes and children; text goes in as text nodes, never parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

export const newId = () =>
  crypto.randomUUID?.().replaceAll('-', '') ?? Math.random().toString(36).slice(2) + Date.now().toString(36);

export function load<T>(key: string): T | null {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') as T | null;
  } catch {
    return null;
  }
}
export function save(key: string, value: unknown) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage refused (private mode): the chat still works until the page is left.
  }
}

/** Black or white, whichever reads better on the brand colour. */
export function textOn(hex: string): string {
  const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [r, g, b] = [1, 3, 5].map((i) => lin(Number.parseInt(hex.slice(i, i + 2), 16) / 255));
  const l = 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? '#000' : '#fff';
}

/** A labelled form field. */
export function field(label: string, input: HTMLInputElement | HTMLTextAreaElement): HTMLElement {
  input.id = `f-${newId()}`;
  return el('div', { class: 'field' }, el('label', { for: input.id }, label), input);
}

export const notice = (text: string, role = 'status') => el('p', { class: 'notice', role }, text);
