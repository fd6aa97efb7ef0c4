/**
 * What a message's Markdown may link to. Only http:, https: and mailto: URLs
 * become links: `javascript:`, `data:` and the like, and relative URLs (which
 * would point into the app itself), come back as null and are shown as text.
 */
const ALLOWED_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

export function safeHref(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) return null;
  if (url.protocol !== 'mailto:' && !url.hostname) return null;
  return url.href;
}

/**
 * The HTML elements a message may render: a CommonMark subset (emphasis, code,
 * quotes, lists, links, line breaks) plus strikethrough. Anything else (headings,
 * images, tables, raw HTML) is unwrapped to its text.
 */
export const MESSAGE_ELEMENTS = [
  'p',
  'br',
  'em',
  'strong',
  'del',
  'code',
  'pre',
  'span',
  'blockquote',
  'ul',
  'ol',
  'li',
  'a',
] as const;
