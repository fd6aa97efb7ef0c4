import { describe, expect, it } from 'vitest';
import { safeHref } from './markdown';

describe('safeHref', () => {
  it('keeps web and mail links', () => {
    expect(safeHref('https://example.com/a?b=1')).toBe('https://example.com/a?b=1');
    expect(safeHref('http://example.com')).toBe('http://example.com/');
    expect(safeHref('mailto:ana@example.com')).toBe('mailto:ana@example.com');
  });

  it('refuses script, data, file and relative URLs', () => {
    for (const bad of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      '/rooms/1',
      '//evil.example',
      'http://',
    ]) {
      expect(safeHref(bad), bad).toBeNull();
    }
  });
});
