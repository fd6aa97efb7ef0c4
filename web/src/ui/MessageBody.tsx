import { memo, type ReactNode } from 'react';
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

/** react-markdown's own URL check runs first; ours (stricter) decides in the `a` component. */
function keepUrl(url: string): string {
  return safeHref(url) ?? '';
}

/**
 * A message body rendered as Markdown into React elements: raw HTML in the body
 * is shown as text, never parsed, and links are only http(s) and mailto.
 */
export const MessageBody = memo(function MessageBody({ body, children }: { body: string; children?: ReactNode }) {
  return (
    <div className="message-body text-[15px] leading-relaxed break-words [overflow-wrap:anywhere]">
      <Markdown
        remarkPlugins={REMARK}
        rehypePlugins={REHYPE}
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
