import { describe, expect, it } from 'vitest';
import { linkify, safeHref } from './linkify';

describe('linkify', () => {
  it('returns plain text untouched', () => {
    expect(linkify('hello <b>world</b>')).toEqual([{ kind: 'text', text: 'hello <b>world</b>' }]);
    expect(linkify('')).toEqual([]);
  });

  it('finds http and https links', () => {
    expect(linkify('see https://example.com/a?b=1#c and http://x.org')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
      { kind: 'text', text: ' and ' },
      { kind: 'link', text: 'http://x.org', href: 'http://x.org/' },
    ]);
  });

  it('leaves trailing punctuation out of the link', () => {
    expect(linkify('go to https://example.com/docs.')).toEqual([
      { kind: 'text', text: 'go to ' },
      { kind: 'link', text: 'https://example.com/docs', href: 'https://example.com/docs' },
      { kind: 'text', text: '.' },
    ]);
    expect(linkify('(https://example.com/x)')[1]).toMatchObject({ text: 'https://example.com/x' });
    expect(linkify('https://en.wikipedia.org/wiki/Foo_(bar)!')[0]).toMatchObject({
      text: 'https://en.wikipedia.org/wiki/Foo_(bar)',
    });
  });

  it('never links other schemes', () => {
    for (const body of ['javascript:alert(1)', 'data:text/html,<script>', 'ftp://x.org', 'mailto:a@b.c']) {
      expect(linkify(body).every((s) => s.kind === 'text')).toBe(true);
    }
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('https://')).toBeNull();
  });

  it('does not let quotes or angle brackets into a link', () => {
    const segs = linkify('<a href="https://evil.example/x">click</a>');
    const link = segs.find((s) => s.kind === 'link');
    expect(link).toMatchObject({ text: 'https://evil.example/x' });
    expect(segs.map((s) => s.text).join('')).toBe('<a href="https://evil.example/x">click</a>');
  });

  it('preserves every character of the body across segments', () => {
    const body = 'a https://x.io/1, b\nhttps://y.io/2?q=(1) c https://z.io';
    expect(linkify(body).map((s) => s.text).join('')).toBe(body);
  });
});
