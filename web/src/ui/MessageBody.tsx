import { memo } from 'react';
import { linkify } from '../state/linkify';

/** A message body as text nodes and safe links: never HTML. */
export const MessageBody = memo(function MessageBody({ body }: { body: string }) {
  const segments = linkify(body);
  return (
    <p className="text-[15px] leading-relaxed break-words whitespace-pre-wrap [overflow-wrap:anywhere]">
      {segments.map((s, i) =>
        s.kind === 'link' ? (
          <a
            key={i}
            href={s.href}
            target="_blank"
            rel="noopener noreferrer nofollow"
            className="text-indigo-600 underline decoration-indigo-300 underline-offset-2 hover:decoration-indigo-600 dark:text-indigo-400 dark:decoration-indigo-700"
          >
            {s.text}
          </a>
        ) : (
          <span key={i}>{s.text}</span>
        ),
      )}
    </p>
  );
});
