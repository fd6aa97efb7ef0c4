import { memo, useMemo, type ReactNode } from 'react';
import Markdown, { type Components, type Options } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkBreaks from 'remark-breaks';
import remarkGfm from 'remark-gfm';
import { MESSAGE_ELEMENTS, safeHref } from '../state/markdown';

const REMARK: Options['remarkPlugins'] = [remarkGfm, remarkBreaks];
/** Highlight fenced blocks that name their language; never guess (a guess is slow and often wrong). */
const REHYPE: Options['rehypePlugins'] = [[rehypeHighlight, { detect: false }]];

const LINK_CLASS =
  'text-indigo-700 underline decoration-indigo-300 underline-offset-2 hover:decoration-indigo-600 dark:text-indigo-300 dark:decoration-indigo-700';

const COMPONENTS: Components = {
  a({ href, children }) {
    const safe = href ? safeHref(href) : null;
    if (!safe) return <span>{children}</span>;
    return (
      <a href={safe} target="_blank" rel="noopener noreferrer nofollow" className={LINK_CLASS}>
        {children}
      </a>
    );
  },
};

interface HastNode {
  type: string;
  tagName?: string;
  value?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

const MENTION = /@([A-Za-z0-9_.-]+)/g;

/**
 * Wrap `@username` of the people a message mentions (the server's structured
 * mentions, not any @word) in a highlighted span; text in code and links stays.
 */
function rehypeMentions(names: ReadonlyMap<string, boolean>) {
  const split = (text: string): HastNode[] => {
    const out: HastNode[] = [];
    let last = 0;
    for (const m of text.matchAll(MENTION)) {
      const mine = names.get(m[1]!.toLowerCase());
      if (mine === undefined) continue;
      if (m.index > last) out.push({ type: 'text', value: text.slice(last, m.index) });
      const className = mine
        ? 'rounded bg-amber-100 px-0.5 font-semibold text-amber-900 dark:bg-amber-500/20 dark:text-amber-100'
        : 'rounded bg-indigo-50 px-0.5 font-medium text-indigo-800 dark:bg-indigo-500/15 dark:text-indigo-200';
      out.push({ type: 'element', tagName: 'span', properties: { className, dataMention: mine ? 'me' : 'other' }, children: [{ type: 'text', value: m[0] }] });
      last = m.index + m[0].length;
    }
    if (out.length === 0) return [{ type: 'text', value: text }];
    if (last < text.length) out.push({ type: 'text', value: text.slice(last) });
    return out;
  };
  const walk = (node: HastNode) => {
    if (!node.children || node.tagName === 'code' || node.tagName === 'pre' || node.tagName === 'a') return;
    node.children = node.children.flatMap((c) => (c.type === 'text' && c.value ? split(c.value) : (walk(c), [c])));
  };
  return () => (tree: HastNode) => {
    if (names.size > 0) walk(tree);
  };
}

/** react-markdown's own URL check runs first; ours (stricter) decides in the `a` component. */
function keepUrl(url: string): string {
  return safeHref(url) ?? '';
}

/**
 * A message body rendered as Markdown into React elements: raw HTML in the body
 * is shown as text, never parsed, and links are only http(s) and mailto.
 */
export const MessageBody = memo(function MessageBody({
  body,
  mentions,
  children,
}: {
  body: string;
  /** Lower-case usernames the message mentions; true for the reader. */
  mentions?: ReadonlyMap<string, boolean>;
  children?: ReactNode;
}) {
  const rehype = useMemo<Options['rehypePlugins']>(
    () => (mentions && mentions.size > 0 ? [...REHYPE, rehypeMentions(mentions)] : REHYPE),
    [mentions],
  );
  return (
    <div className="message-body text-[15px] leading-relaxed break-words [overflow-wrap:anywhere]">
      <Markdown
        remarkPlugins={REMARK}
        rehypePlugins={rehype}
        allowedElements={MESSAGE_ELEMENTS}
        unwrapDisallowed
        urlTransform={keepUrl}
        components={COMPONENTS}
      >
        {body}
      </Markdown>
      {children}
    </div>
  );
});
