import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { buildRows, timeLabel, type Row } from '../state/format';
import type { PendingMessage } from '../state/timeline';
import type { Message, User } from '../state/types';
import { Avatar } from './Avatar';
import { Attachments } from './Attachments';
import { MessageBody } from './MessageBody';
import { EditForm, Edited, MessageToolbar, Reactions, ReplyQuote, useRoomActions } from './MessageActions';
import { useChat, useNow, useSession } from './hooks';
import { SeenBy } from './SeenBy';
import { IconAlert, IconArrowDown, IconClock, IconRetry, IconX } from './icons';

const BOTTOM_SLACK = 48;
const LOAD_OLDER_AT = 240;

function fullTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const LONG_PRESS_MS = 500;

/** Lower-case usernames a message mentions (true for me), for highlighting them in the text. */
function mentionNames(message: Message, members: readonly User[] | undefined, myId: string | null): ReadonlyMap<string, boolean> {
  const out = new Map<string, boolean>();
  if (message.mentions.length === 0 || !members) return out;
  for (const u of members) if (message.mentions.includes(u.id)) out.set(u.username.toLowerCase(), u.id === myId);
  return out;
}

const MessageRow = memo(function MessageRow({
  message,
  head,
  mine,
  highlighted,
}: {
  message: Message;
  head: boolean;
  mine: boolean;
  highlighted: boolean;
}) {
  const name = message.sender.display_name || message.sender.username;
  const myId = useChat((s) => s.me?.id ?? null);
  const members = useChat((s) => s.rooms[message.room]?.members);
  const owner = useChat((s) => myId !== null && s.rooms[message.room]?.roles[myId] === 'owner');
  const { editing } = useRoomActions();
  const mentions = useMemo(() => mentionNames(message, members, myId), [message, members, myId]);
  const mentionsMe = myId !== null && message.mentions.includes(myId);
  const [pressed, setPressed] = useState(false);
  const press = useRef<ReturnType<typeof setTimeout> | null>(null);
  const cancelPress = () => {
    if (press.current) clearTimeout(press.current);
    press.current = null;
  };
  // Touch screens have no hover: a long press shows the actions until the next tap elsewhere.
  useEffect(() => {
    if (!pressed) return;
    const close = (e: PointerEvent) => {
      if (!(e.target instanceof Node) || !rowRef.current?.contains(e.target)) setPressed(false);
    };
    document.addEventListener('pointerdown', close);
    return () => document.removeEventListener('pointerdown', close);
  }, [pressed]);
  const rowRef = useRef<HTMLDivElement>(null);
  return (
    <div
      ref={rowRef}
      data-seq={message.seq}
      data-mine={mine || undefined}
      data-mentions-me={mentionsMe || undefined}
      data-highlighted={highlighted || undefined}
      tabIndex={-1}
      onPointerDown={(e) => {
        if (e.pointerType !== 'touch' || message.deleted) return;
        cancelPress();
        press.current = setTimeout(() => setPressed(true), LONG_PRESS_MS);
      }}
      onPointerUp={cancelPress}
      onPointerCancel={cancelPress}
      onPointerMove={cancelPress}
      onContextMenu={(e) => {
        if (pressed) e.preventDefault();
      }}
      className={`group relative flex gap-3 px-4 hover:bg-zinc-50 md:px-6 dark:hover:bg-zinc-900/60 ${head ? 'mt-3 pt-1' : ''} py-0.5 ${
        highlighted ? 'bg-amber-50 dark:bg-amber-500/10' : mentionsMe ? 'border-l-2 border-amber-400 bg-amber-50/60 dark:bg-amber-500/5' : ''
      }`}
    >
      <div className="relative w-9 shrink-0">
        {head ? (
          <Avatar user={message.sender} />
        ) : (
          <time
            dateTime={message.created_at}
            title={fullTime(message.created_at)}
            className="absolute top-1 right-0 text-[10px] leading-5 whitespace-nowrap text-zinc-500 tabular-nums opacity-0 group-focus-within:opacity-100 group-hover:opacity-100 pointer-coarse:opacity-100 dark:text-zinc-400"
          >
            {timeLabel(new Date(message.created_at))}
          </time>
        )}
      </div>
      <div className="min-w-0 flex-1">
        {!head && <span className="sr-only">{name}: </span>}
        {head && (
          <div className="flex items-baseline gap-2">
            <span className="text-sm font-semibold">{name}</span>
            <time dateTime={message.created_at} title={fullTime(message.created_at)} className="text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
              {timeLabel(new Date(message.created_at))}
            </time>
          </div>
        )}
        {message.reply_to && <ReplyQuote quote={message.reply_to} />}
        {message.deleted ? (
          <p className="text-[15px] text-zinc-600 italic dark:text-zinc-400" data-testid="tombstone">
            This message was deleted.
          </p>
        ) : editing === message.seq && mine ? (
          <EditForm message={message} />
        ) : (
          <MessageBody body={message.body} mentions={mentions}>
            {message.edited_at && <Edited at={message.edited_at} />}
          </MessageBody>
        )}
        {!message.deleted && <Attachments items={message.attachments} />}
        {!message.deleted && <Reactions message={message} />}
      </div>
      {!message.deleted && <MessageToolbar message={message} mine={mine} canDelete={mine || owner} open={pressed} />}
    </div>
  );
});

const PendingRow = memo(function PendingRow({
  pending,
  sender,
  head,
  online,
}: {
  pending: PendingMessage;
  sender: User | null;
  head: boolean;
  online: boolean;
}) {
  const chat = useSession();
  const failed = pending.status === 'failed';
  const name = sender ? sender.display_name || sender.username : 'You';
  return (
    <div
      data-pending={pending.client_id}
      data-status={pending.status}
      className={`group relative flex gap-3 px-4 py-0.5 md:px-6 ${head ? 'mt-3 pt-1' : ''}`}
    >
      <div className="w-9 shrink-0">{head && sender && <Avatar user={sender} />}</div>
      <div className="min-w-0 flex-1">
        {head && (
          <div className="flex items-baseline gap-2">
            <span className="text-sm font-semibold">{name}</span>
          </div>
        )}
        <div className={failed ? '' : 'opacity-60'}>
          <MessageBody body={pending.body} />
          {pending.attachments && <Attachments items={pending.attachments} />}
        </div>
        {failed ? (
          <div className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs">
            <span className="inline-flex items-center gap-1 text-red-600 dark:text-red-400">
              <IconAlert size={14} /> {pending.error ?? 'Not sent'}
            </span>
            <button
              type="button"
              onClick={() => chat.outbox.retry(pending.client_id)}
              className="inline-flex items-center gap-1 rounded-md px-1.5 py-0.5 font-medium text-indigo-600 hover:bg-indigo-50 dark:text-indigo-400 dark:hover:bg-indigo-500/10"
            >
              <IconRetry size={13} /> Retry
            </button>
            <button
              type="button"
              onClick={() => chat.outbox.discard(pending.client_id)}
              aria-label="Discard unsent message"
              className="inline-flex items-center gap-1 rounded-md px-1.5 py-0.5 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
            >
              <IconX size={13} /> Discard
            </button>
          </div>
        ) : (
          <div className="mt-0.5 inline-flex items-center gap-1 text-[11px] text-zinc-500 dark:text-zinc-400">
            <IconClock size={12} /> {online ? 'Sending…' : 'Waiting for connection…'}
          </div>
        )}
      </div>
    </div>
  );
});

/** A day change; where the conversation starts or the unread marker falls on it, it says so too. */
function DaySeparator({ label, start, unread }: { label: string; start: boolean; unread: boolean }) {
  const spoken = [label, start && 'start of the conversation', unread && 'new messages'].filter(Boolean).join(', ');
  return (
    <div
      className="relative mt-5 mb-1 flex items-center px-4 md:px-6"
      role="separator"
      aria-label={spoken}
      data-unread-marker={unread || undefined}
    >
      <div className={`h-px flex-1 ${unread ? 'bg-rose-400/70' : 'bg-zinc-200 dark:bg-zinc-800'}`} />
      <span className="mx-3 rounded-full border border-zinc-200 bg-white px-3 py-0.5 text-[11px] font-medium text-zinc-600 dark:border-zinc-800 dark:bg-zinc-950 dark:text-zinc-400">
        {label}
        {start && <span className="font-normal"> · start of the conversation</span>}
      </span>
      <div className={`h-px flex-1 ${unread ? 'bg-rose-400/70' : 'bg-zinc-200 dark:bg-zinc-800'}`} />
      {unread && <NewTag />}
    </div>
  );
}

function NewTag() {
  return <span className="ml-2 text-[11px] font-semibold tracking-wide text-rose-700 uppercase dark:text-rose-400">New</span>;
}

function UnreadMarker() {
  return (
    <div className="relative mt-3 flex items-center px-4 md:px-6" data-unread-marker role="separator" aria-label="New messages">
      <div className="h-px flex-1 bg-rose-400/70" />
      <NewTag />
    </div>
  );
}

function RowView({ row, online, highlight }: { row: Row; online: boolean; highlight: number | null }) {
  switch (row.kind) {
    case 'day':
      return <DaySeparator label={row.label} start={row.start} unread={row.unread} />;
    case 'unread':
      return <UnreadMarker />;
    case 'message':
      return <MessageRow message={row.message} head={row.head} mine={row.mine} highlighted={highlight === row.message.seq} />;
    case 'pending':
      return <PendingRow pending={row.pending} sender={row.sender} head={row.head} online={online} />;
  }
}

export function MessageList({ roomId, highlight }: { roomId: string; highlight: { seq: number; at: number } | null }) {
  const chat = useSession();
  const tl = useChat((s) => s.timelines[roomId]);
  const ui = useChat((s) => s.roomUi[roomId]);
  const me = useChat((s) => s.me);
  const online = useChat((s) => s.conn.status === 'online');
  const now = useNow(60_000);
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [farFromBottom, setFarFromBottom] = useState(false);
  const [tick, forceRender] = useState(0);
  const [unseenBelow, setUnseenBelow] = useState(false);
  const initialDone = useRef(false);
  const unreadAtOpen = useRef<number>(chat.state.rooms[roomId]?.unread ?? 0);
  const anchor = useRef<{ key: string; top: number; firstSeq: number } | null>(null);
  const lastRowKey = useRef<string | null>(null);
  const [mountedAt] = useState(Date.now);
  const shownHighlight = useRef<number | null>(null);

  const messages = tl?.messages;
  const pending = tl?.pending;
  const unreadFrom = ui?.unreadFrom ?? null;
  const rows = useMemo(
    () => buildRows(messages ?? [], pending ?? [], me, unreadFrom, now, tl?.loaded === true && !tl.hasOlder),
    [messages, pending, me, unreadFrom, now, tl?.loaded, tl?.hasOlder],
  );

  /** Report the newest message whose bottom edge is on screen (or above it) as read. */
  const reportRead = useCallback(() => {
    const el = ref.current;
    if (!el || document.visibilityState !== 'visible') return;
    const limit = el.getBoundingClientRect().bottom + 2;
    const nodes = el.querySelectorAll<HTMLElement>('[data-seq]');
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      if (n.getBoundingClientRect().bottom <= limit) {
        chat.reads.mark(roomId, Number(n.dataset.seq));
        return;
      }
    }
  }, [chat, roomId]);

  const scrollToBottom = useCallback((smooth = false) => {
    const el = ref.current;
    if (!el) return;
    el.scrollTo({ top: el.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
    atBottom.current = true;
    setFarFromBottom(false);
    setUnseenBelow(false);
  }, []);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const dist = el.scrollHeight - el.scrollTop - el.clientHeight;
    atBottom.current = dist < BOTTOM_SLACK;
    setFarFromBottom(dist > 400);
    if (atBottom.current) setUnseenBelow(false);
    if (el.scrollTop < LOAD_OLDER_AT && initialDone.current) void chat.timeline.loadOlder(roomId);
    reportRead();
  }, [chat, roomId, reportRead]);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || !tl?.loaded) return;
    const firstMsg = rows.find((r) => r.kind === 'message');
    const last = rows[rows.length - 1];
    const lastKey = last ? last.key : null;

    if (!initialDone.current) {
      const waitForMarker =
        unreadAtOpen.current > 0 && unreadFrom === null && Date.now() - mountedAt < 2000;
      if (!waitForMarker) {
        initialDone.current = true;
        const marker = unreadFrom !== null ? el.querySelector<HTMLElement>('[data-unread-marker]') : null;
        if (marker && marker.offsetTop > el.clientHeight * 0.6) {
          el.scrollTop = Math.max(0, marker.offsetTop - el.clientHeight * 0.25);
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
        } else {
          el.scrollTop = el.scrollHeight;
          atBottom.current = true;
        }
      }
    } else if (anchor.current && firstMsg && firstMsg.kind === 'message' && firstMsg.message.seq < anchor.current.firstSeq) {
      // Older history was prepended: keep the previously first row where it was.
      const node = el.querySelector<HTMLElement>(`[data-key="${CSS.escape(anchor.current.key)}"]`);
      if (node) el.scrollTop += node.offsetTop - anchor.current.top;
    } else if (lastKey !== lastRowKey.current && lastKey !== null) {
      const mineAdded = last?.kind === 'pending' || (last?.kind === 'message' && last.mine);
      if (atBottom.current || (mineAdded && last?.kind === 'pending')) {
        el.scrollTop = el.scrollHeight;
        atBottom.current = true;
      } else if (!mineAdded) {
        // Measured after layout: a row arrived below while the reader is scrolled up.
        // eslint-disable-next-line react-hooks/set-state-in-effect
        setUnseenBelow(true);
      }
    }
    lastRowKey.current = lastKey;
    if (firstMsg && firstMsg.kind === 'message') {
      const node = el.querySelector<HTMLElement>(`[data-key="${CSS.escape(firstMsg.key)}"]`);
      anchor.current = node ? { key: firstMsg.key, top: node.offsetTop, firstSeq: firstMsg.message.seq } : null;
    }
    if (initialDone.current) reportRead();
  }, [rows, tl?.loaded, unreadFrom, reportRead, tick, mountedAt]);

  // Do not wait for the unread marker forever.
  useEffect(() => {
    const t = setTimeout(() => forceRender((n) => n + 1), 2100);
    return () => clearTimeout(t);
  }, []);

  // My unread count changed (e.g. the room list arrived): report what is on screen.
  const unreadNow = useChat((s) => s.rooms[roomId]?.unread ?? 0);
  const group = useChat((s) => s.rooms[roomId]?.kind === 'group');
  const lastRow = rows.at(-1);
  const seenBySeq = group && me && lastRow?.kind === 'message' && lastRow.mine ? lastRow.message.seq : null;
  useEffect(() => {
    if (unreadNow > 0 && initialDone.current) reportRead();
  }, [unreadNow, reportRead]);

  // Short history that does not fill the screen: fetch more right away.
  useEffect(() => {
    const el = ref.current;
    if (!el || !tl?.loaded || !tl.hasOlder || ui?.loadingOlder || !initialDone.current) return;
    if (el.scrollHeight <= el.clientHeight + LOAD_OLDER_AT) void chat.timeline.loadOlder(roomId);
  }, [chat, rows, tl?.loaded, tl?.hasOlder, ui?.loadingOlder, roomId]);

  // Keep the bottom in view when the viewport resizes (mobile keyboard, window resize).
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const onVis = () => reportRead();
    document.addEventListener('visibilitychange', onVis);
    window.addEventListener('focus', onVis);
    return () => {
      document.removeEventListener('visibilitychange', onVis);
      window.removeEventListener('focus', onVis);
    };
  }, [reportRead]);

  // A jump to a message (reply quote, message link): bring it to the middle once it is rendered.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || !highlight) return;
    const node = el.querySelector<HTMLElement>(`[data-seq="${highlight.seq}"]`);
    if (!node || shownHighlight.current === highlight.at) return;
    shownHighlight.current = highlight.at;
    initialDone.current = true;
    node.scrollIntoView({ block: 'center' });
    node.focus({ preventScroll: true });
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
  }, [highlight, rows]);

  const loading = !tl?.loaded;
  return (
    <div className="relative min-h-0 flex-1">
      <div
        ref={ref}
        onScroll={onScroll}
        className="message-scroller h-full overflow-y-auto pb-3"
        role="log"
        aria-label="Messages"
        aria-busy={loading || ui?.loadingOlder || undefined}
        tabIndex={0}
        data-testid="message-list"
      >
        {loading ? (
          <div className="flex h-full items-center justify-center text-sm text-zinc-500 dark:text-zinc-400">
            {ui?.error ? (
              <span className="flex flex-col items-center gap-2">
                Could not load messages.
                <button
                  type="button"
                  onClick={() => void chat.timeline.loadLatest(roomId)}
                  className="rounded-lg border border-zinc-300 px-3 py-1 text-sm font-medium dark:border-zinc-700"
                >
                  Try again
                </button>
              </span>
            ) : (
              'Loading messages…'
            )}
          </div>
        ) : (
          <div className="flex min-h-full flex-col justify-end">
            <div className="flex h-10 items-center justify-center text-xs text-zinc-500 dark:text-zinc-400" aria-live="polite">
              {ui?.loadingOlder ? 'Loading earlier messages…' : ''}
            </div>
            {rows.length === 0 && (
              <div className="px-6 py-16 text-center">
                <p className="text-sm font-medium">No messages yet</p>
                <p className="mt-1 text-[13px] text-zinc-500 dark:text-zinc-400">Say hello — your first message starts the conversation.</p>
              </div>
            )}
            <div role="list" aria-label="Message history">
              {rows.map((row) => (
                <div key={row.key} data-key={row.key} role="listitem">
                  <RowView row={row} online={online} highlight={highlight?.seq ?? null} />
                </div>
              ))}
            </div>
            {seenBySeq !== null && me && <SeenBy key={seenBySeq} roomId={roomId} seq={seenBySeq} myId={me.id} />}
          </div>
        )}
      </div>
      {(farFromBottom || unseenBelow) && (
        <button
          type="button"
          onClick={() => scrollToBottom(true)}
          className="absolute right-5 bottom-4 inline-flex items-center gap-1.5 rounded-full border border-zinc-200 bg-white px-3 py-1.5 text-xs font-medium text-zinc-700 shadow-lg hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-800 dark:text-zinc-200"
          aria-label="Jump to latest messages"
        >
          <IconArrowDown size={14} /> {unseenBelow ? 'New messages' : 'Latest'}
        </button>
      )}
    </div>
  );
}
