/**
 * Split a message body into plain text and http(s) links. The UI renders the
 * pieces as React text nodes and <a> elements, never as HTML, so a body can
 * not inject markup; only http: and https: URLs become links.
 */
export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

// Scheme, then anything up to whitespace or an angle bracket / quote.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'")\]}>]+$/;

function trimTrailing(url: string): string {
  // Drop trailing punctuation, but keep a closing paren that has its opener.
  let out = url;
  for (;;) {
    const m = TRAILING.exec(out);
    if (!m) return out;
    const last = out[out.length - 1]!;
    if (last === ')') {
      const opens = (out.match(/\(/g) ?? []).length;
      const closes = (out.match(/\)/g) ?? []).length;
      if (opens >= closes) return out;
    }
    out = out.slice(0, -1);
  }
}

export function safeHref(candidate: string): string | null {
  try {
    const u = new URL(candidate);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (!u.hostname) return null;
    return u.href;
  } catch {
    return null;
  }
}

export function linkify(body: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  URL_RE.lastIndex = 0;
  for (let m = URL_RE.exec(body); m !== null; m = URL_RE.exec(body)) {
    const raw = trimTrailing(m[0]);
    const href = safeHref(raw);
    if (!href) continue;
    const start = m.index;
    if (start > last) out.push({ kind: 'text', text: body.slice(last, start) });
    out.push({ kind: 'link', text: raw, href });
    last = start + raw.length;
    URL_RE.lastIndex = last;
  }
  if (last < body.length) out.push({ kind: 'text', text: body.slice(last) });
  return out;
}
