import { EmojiPicker } from 'frimousse';
import { createContext, use, useState, type ReactNode } from 'react';
import type { Message, User } from '../state/types';
import { Dialog } from './Dialog';
import { messageLink, useChat, useSession } from './hooks';

/** What the open room's messages share: reply and edit targets, and the jump to a message. */
export interface RoomActions {
  roomId: string;
  replyTo: Message | null;
  setReplyTo: (m: Message | null) => void;
  editing: number | null;
  setEditing: (seq: number | null) => void;
  /** Scroll to a message (loading the history around it when it is not held) and highlight it. */
  jumpTo: (seq: number) => void;
}

export const RoomActionsContext = createContext<RoomActions | null>(null);

export function useRoomActions(): RoomActions {
  const ctx = use(RoomActionsContext);
  if (!ctx) throw new Error('useRoomActions needs a <RoomActionsContext> above it');
  return ctx;
}

const QUICK = ['👍', '❤️', '😂'] as const;

const TOOL =
  'inline-flex h-8 min-w-8 items-center justify-center rounded-md px-1.5 text-[13px] text-zinc-700 hover:bg-zinc-100 focus-visible:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800 dark:focus-visible:bg-zinc-800';

/**
 * The message's actions: shown on hover, when focus is inside the message
 * (keyboard), or after a long press (touch, `open`).
 */
/** `canDelete`: my own message, or any in a group I own. */
export function MessageToolbar({
  message,
  mine,
  canDelete,
  open,
}: {
  message: Message;
  mine: boolean;
  canDelete: boolean;
  open: boolean;
}) {
  const chat = useSession();
  const actions = useRoomActions();
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const react = (emoji: string) => chat.actions.toggleReaction(message.room, message.seq, emoji);
  return (
    <>
      <div
        role="toolbar"
        aria-label="Message actions"
        data-testid="message-actions"
        className={`absolute -top-3 right-4 z-10 items-center gap-0.5 rounded-lg border border-zinc-200 bg-white p-0.5 shadow-sm group-focus-within:flex group-hover:flex md:right-6 dark:border-zinc-700 dark:bg-zinc-900 ${open ? 'flex' : 'hidden'}`}
      >
        {QUICK.map((e) => (
          <button key={e} type="button" className={TOOL} onClick={() => react(e)} aria-label={`React with ${e}`}>
            {e}
          </button>
        ))}
        <button type="button" className={TOOL} onClick={() => setPicking(true)}>
          React
        </button>
        <button type="button" className={TOOL} onClick={() => actions.setReplyTo(message)}>
          Reply
        </button>
        <button
          type="button"
          className={TOOL}
          onClick={() => {
            void navigator.clipboard.writeText(messageLink(message.room, message.seq)).then(
              () => chat.toast('Link copied'),
              () => chat.toast('Could not copy the link'),
            );
          }}
        >
          Copy link
        </button>
        {mine && (
          <button type="button" className={TOOL} onClick={() => actions.setEditing(message.seq)}>
            Edit
          </button>
        )}
        {canDelete && (
          <button type="button" className={`${TOOL} text-red-700 dark:text-red-300`} onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </div>
      {picking && (
        <EmojiPickerDialog
          onClose={() => setPicking(false)}
          onPick={(emoji) => {
            setPicking(false);
            react(emoji);
          }}
        />
      )}
      {confirming && (
        <Dialog title="Delete message?" description="Everyone in the conversation sees that it was deleted." onClose={() => setConfirming(false)}>
          <div className="flex justify-end gap-2">
            <button type="button" onClick={() => setConfirming(false)} className="rounded-lg px-3 py-1.5 text-sm font-medium text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800" data-autofocus>
              Cancel
            </button>
            <button
              type="button"
              onClick={() => {
                setConfirming(false);
                chat.actions.remove(message.room, message.seq);
              }}
              className="rounded-lg bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-600"
            >
              Delete
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

/** A searchable emoji picker (frimousse); its data is served by the app at /emoji. */
export function EmojiPickerDialog({ onClose, onPick }: { onClose: () => void; onPick: (emoji: string) => void }) {
  return (
    <Dialog title="Add a reaction" onClose={onClose}>
      <EmojiPicker.Root emojibaseUrl="/emoji" onEmojiSelect={({ emoji }) => onPick(emoji)} className="flex h-80 flex-col" columns={8}>
        <EmojiPicker.Search
          aria-label="Search emoji"
          className="mb-2 w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-[15px] outline-none focus:border-indigo-500 dark:border-zinc-700 dark:bg-zinc-950"
        />
        <EmojiPicker.Viewport className="relative flex-1 outline-none">
          <EmojiPicker.Loading className="absolute inset-0 flex items-center justify-center text-sm text-zinc-600 dark:text-zinc-400">
            Loading…
          </EmojiPicker.Loading>
          <EmojiPicker.Empty className="absolute inset-0 flex items-center justify-center text-sm text-zinc-600 dark:text-zinc-400">
            No emoji found.
          </EmojiPicker.Empty>
          <EmojiPicker.List
            className="pb-1 select-none"
            components={{
              CategoryHeader: ({ category, ...props }) => (
                <div className="bg-white px-1 pt-2 pb-1 text-xs font-medium text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400" {...props}>
                  {category.label}
                </div>
              ),
              // ARIA counts rows and columns from 1; frimousse numbers them from 0.
              Row: ({ children, ...props }) => (
                <div {...props} aria-rowindex={(props['aria-rowindex'] ?? 0) + 1}>
                  {children}
                </div>
              ),
              Emoji: ({ emoji, ...props }) => (
                <button
                  className="flex size-9 items-center justify-center rounded-md text-xl data-[active]:bg-zinc-100 dark:data-[active]:bg-zinc-800"
                  {...props}
                  aria-colindex={(props['aria-colindex'] ?? 0) + 1}
                >
                  {emoji.emoji}
                </button>
              ),
            }}
          />
        </EmojiPicker.Viewport>
      </EmojiPicker.Root>
    </Dialog>
  );
}

function names(ids: readonly string[], members: readonly User[], myId: string | null): string {
  const byId = new Map(members.map((u) => [u.id, u.display_name || u.username]));
  return ids.map((id) => (id === myId ? 'you' : (byId.get(id) ?? 'someone'))).join(', ');
}

/** Reaction counts; who reacted shows on hover and on focus, and a press toggles mine. */
export function Reactions({ message }: { message: Message }) {
  const chat = useSession();
  const myId = useChat((s) => s.me?.id ?? null);
  const members = useChat((s) => s.rooms[message.room]?.members);
  if (message.reactions.length === 0) return null;
  return (
    <div className="mt-1 flex flex-wrap gap-1" data-testid="reactions">
      {message.reactions.map((r) => {
        const mine = myId !== null && r.users.includes(myId);
        const who = names(r.users, members ?? [], myId);
        return (
          <span key={r.emoji} className="group/r relative">
            <button
              type="button"
              aria-pressed={mine}
              onClick={() => chat.actions.toggleReaction(message.room, message.seq, r.emoji)}
              className={`inline-flex h-7 items-center gap-1 rounded-full border px-2 text-[13px] tabular-nums ${
                mine
                  ? 'border-indigo-300 bg-indigo-50 text-indigo-800 dark:border-indigo-700 dark:bg-indigo-500/15 dark:text-indigo-200'
                  : 'border-zinc-200 bg-white text-zinc-700 hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300'
              }`}
              data-emoji={r.emoji}
            >
              <span>{r.emoji}</span>
              <span>{r.count}</span>
              <span className="sr-only">, reacted by {who}</span>
            </button>
            <span
              role="tooltip"
              className="pointer-events-none absolute bottom-full left-0 z-20 mb-1 hidden w-max max-w-60 rounded-md bg-zinc-900 px-2 py-1 text-xs text-white shadow group-focus-within/r:block group-hover/r:block dark:bg-zinc-100 dark:text-zinc-900"
            >
              {r.emoji} {who}
            </span>
          </span>
        );
      })}
    </div>
  );
}

/** The quoted original of a reply; a press jumps to it. */
export function ReplyQuote({ quote }: { quote: NonNullable<Message['reply_to']> }) {
  const { jumpTo } = useRoomActions();
  const name = quote.sender.display_name || quote.sender.username;
  return (
    <button
      type="button"
      onClick={() => jumpTo(quote.seq)}
      className="mb-0.5 flex max-w-full items-center gap-1.5 rounded-md border-l-2 border-indigo-400 bg-zinc-50 px-2 py-0.5 text-left text-[13px] text-zinc-700 hover:bg-zinc-100 dark:bg-zinc-900 dark:text-zinc-300 dark:hover:bg-zinc-800"
      data-testid="reply-quote"
    >
      <span className="sr-only">Reply to </span>
      <span className="shrink-0 font-medium">{name}</span>
      <span className="min-w-0 truncate">{quote.deleted ? 'Deleted message' : quote.body}</span>
    </button>
  );
}

/** Edit in place: Enter saves, Escape cancels. */
export function EditForm({ message }: { message: Message }) {
  const chat = useSession();
  const { setEditing } = useRoomActions();
  const [text, setText] = useState(message.body);
  const save = () => {
    if (text.trim() && text.trim() !== message.body) chat.actions.edit(message.room, message.seq, text);
    setEditing(null);
  };
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
      className="mt-0.5"
    >
      <textarea
        aria-label="Edit message"
        value={text}
        autoFocus
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            save();
          } else if (e.key === 'Escape') {
            e.preventDefault();
            setEditing(null);
          }
        }}
        className="w-full resize-none rounded-lg border border-zinc-300 bg-white px-2 py-1 text-[15px] outline-none focus:border-indigo-500 dark:border-zinc-700 dark:bg-zinc-900"
        rows={Math.min(8, text.split('\n').length + 1)}
      />
      <p className="text-[11px] text-zinc-600 dark:text-zinc-400">Enter to save · Escape to cancel</p>
    </form>
  );
}

export function Edited({ at }: { at: string }): ReactNode {
  return (
    <span className="ml-1 text-[11px] text-zinc-600 dark:text-zinc-400" title={new Date(at).toLocaleString()} data-testid="edited">
      (edited)
    </span>
  );
}
