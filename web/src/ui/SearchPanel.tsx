import { useId, useState, type FormEvent } from 'react';
import { shortStamp } from '../state/format';
import { roomTitle } from '../state/rooms';
import type { SearchQuery } from '../state/search';
import type { SearchResult, SnippetPart } from '../state/types';
import { Dialog } from './Dialog';
import { openMessage, useChat, useNow, useSession } from './hooks';
import { IconSearch } from './icons';

const PAGE = 20;

/** The matched words marked; every part is a text node, so a message's text is never markup. */
function Snippet({ parts }: { parts: readonly SnippetPart[] }) {
  return (
    <>
      {parts.map((p, i) =>
        p.hit ? (
          <mark key={i} className="rounded-sm bg-amber-200 px-0.5 text-zinc-900 dark:bg-amber-300">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

type Found = {
  query: SearchQuery;
  results: SearchResult[];
  next: string | null;
};

/**
 * Search the messages of every conversation the user is in (or of one), and open the
 * conversation at a result. The results are links to the messages, so they can also be
 * opened in a new tab.
 */
export function SearchPanel({ onClose }: { onClose: () => void }) {
  const chat = useSession();
  const me = useChat((s) => s.me);
  const rooms = useChat((s) => s.rooms);
  const order = useChat((s) => s.order);
  const now = useNow();
  const [text, setText] = useState('');
  const [room, setRoom] = useState('');
  const [sender, setSender] = useState('');
  const [after, setAfter] = useState('');
  const [before, setBefore] = useState('');
  const [found, setFound] = useState<Found | null>(null);
  const [state, setState] = useState<'idle' | 'loading' | 'error'>('idle');
  const [error, setError] = useState('');
  const textId = useId();
  const roomId = useId();
  const senderId = useId();
  const afterId = useId();
  const beforeId = useId();

  const run = (query: SearchQuery, more: boolean) => {
    setState('loading');
    chat.rooms.searchMessages(query).then(
      (page) => {
        setFound((f) => ({
          query,
          results: more && f ? [...f.results, ...page.results] : page.results,
          next: page.next_cursor,
        }));
        setState('idle');
      },
      (e: unknown) => {
        setError(e instanceof Error ? e.message : 'Search failed.');
        setState('error');
      },
    );
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    run({ q: text.trim(), room, sender: sender.replace(/^@/, ''), after, before, limit: PAGE }, false);
  };

  const myId = me?.id ?? null;
  return (
    <Dialog title="Search messages" description="In the conversations you are in." onClose={onClose}>
      <form role="search" onSubmit={submit} className="space-y-2">
        <label htmlFor={textId} className="sr-only">
          Search messages
        </label>
        <div className="relative">
          <IconSearch
            className="pointer-events-none absolute top-1/2 left-3 -translate-y-1/2 text-zinc-500 dark:text-zinc-400"
            size={16}
          />
          <input
            id={textId}
            type="search"
            value={text}
            maxLength={200}
            onChange={(e) => setText(e.target.value)}
            placeholder='Words, "a phrase", -without'
            autoComplete="off"
            data-autofocus
            className="w-full rounded-lg border border-zinc-300 bg-white py-2 pr-3 pl-9 text-[15px] outline-none placeholder:text-zinc-500 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-950 dark:placeholder:text-zinc-400"
          />
        </div>
        <div className="flex gap-2">
          <div className="min-w-0 flex-1">
            <label htmlFor={roomId} className="block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              In
            </label>
            <select
              id={roomId}
              value={room}
              onChange={(e) => {
                setRoom(e.target.value);
                setFound(null);
              }}
              className="w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950"
            >
              <option value="">All conversations</option>
              {order.map((id) => {
                const r = rooms[id];
                return r ? (
                  <option key={id} value={id}>
                    {roomTitle(r, myId)}
                  </option>
                ) : null;
              })}
            </select>
          </div>
          <div className="min-w-0 flex-1">
            <label htmlFor={senderId} className="block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Sender (username)
            </label>
            <input
              id={senderId}
              value={sender}
              maxLength={33}
              onChange={(e) => setSender(e.target.value)}
              autoComplete="off"
              autoCapitalize="none"
              spellCheck={false}
              className="w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950"
            />
          </div>
        </div>
        <div className="flex gap-2">
          <div className="min-w-0 flex-1">
            <label htmlFor={afterId} className="block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              On or after
            </label>
            <input
              id={afterId}
              type="date"
              value={after}
              onChange={(e) => setAfter(e.target.value)}
              className="w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950"
            />
          </div>
          <div className="min-w-0 flex-1">
            <label htmlFor={beforeId} className="block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Before
            </label>
            <input
              id={beforeId}
              type="date"
              value={before}
              onChange={(e) => setBefore(e.target.value)}
              className="w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-950"
            />
          </div>
          <button
            type="submit"
            className="self-end rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500"
          >
            Search
          </button>
        </div>
      </form>
      <p className="px-1 pt-2 text-xs text-zinc-600 dark:text-zinc-400" aria-live="polite">
        {state === 'loading' && 'Searching…'}
        {state === 'error' && error}
        {state === 'idle' &&
          found &&
          (found.results.length === 0
            ? 'No messages found.'
            : `${found.results.length}${found.next ? '+' : ''} found.`)}
      </p>
      {found && found.results.length > 0 && (
        <ul
          aria-label="Search results"
          className="mt-2 max-h-80 space-y-1 overflow-y-auto"
          data-testid="search-results"
        >
          {found.results.map(({ message, snippet }) => {
            const r = rooms[message.room];
            return (
              <li key={message.id}>
                <a
                  href={`/rooms/${encodeURIComponent(message.room)}/messages/${message.seq}`}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                    e.preventDefault();
                    onClose();
                    openMessage(message.room, message.seq);
                  }}
                  className="block rounded-lg px-2 py-2 hover:bg-zinc-100 focus-visible:bg-zinc-100 dark:hover:bg-zinc-800 dark:focus-visible:bg-zinc-800"
                >
                  <span className="flex items-baseline gap-2 text-xs text-zinc-600 dark:text-zinc-400">
                    <span className="truncate font-medium text-zinc-800 dark:text-zinc-200">
                      {message.sender.display_name || message.sender.username}
                    </span>
                    <span className="truncate">in {r ? roomTitle(r, myId) : 'a conversation'}</span>
                    <time dateTime={message.created_at} className="ml-auto shrink-0">
                      {shortStamp(new Date(message.created_at), now)}
                    </time>
                  </span>
                  <span className="mt-0.5 line-clamp-2 block text-sm break-words">
                    <Snippet parts={snippet} />
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
      {found?.next && (
        <button
          type="button"
          disabled={state === 'loading'}
          onClick={() => run({ ...found.query, cursor: found.next ?? undefined }, true)}
          className="mt-2 w-full rounded-lg border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 disabled:opacity-60 dark:border-zinc-700 dark:hover:bg-zinc-800"
        >
          More results
        </button>
      )}
    </Dialog>
  );
}
