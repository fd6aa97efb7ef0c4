import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type ClipboardEvent, type DragEvent, type KeyboardEvent } from 'react';
import { ApiError } from '../state/api';
import { mentionAtCaret, mentionSuggestions } from '../state/mentions';
import type { User } from '../state/types';
import { useChat, useSession } from './hooks';
import { UploadList, type Upload } from './Attachments';
import { IconPaperclip, IconSend, IconX } from './icons';
import { useRoomActions } from './MessageActions';

const MAX_LEN = 4000;
const MAX_FILES = 10;

export function Composer({ roomId, placeholder }: { roomId: string; placeholder: string }) {
  const chat = useSession();
  // Typed text is local state (the caret needs synchronous updates), kept in the
  // session's drafts so it survives switching rooms and dies with the session.
  const [text, setText] = useState(() => chat.drafts.get(roomId));
  const ref = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  const listId = useId();
  const { replyTo, setReplyTo } = useRoomActions();
  const members = useChat((s) => s.rooms[roomId]?.members);
  const myId = useChat((s) => s.me?.id ?? null);
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const prefix = mentionAtCaret(text, caret);
  const suggestions = useMemo(
    () => (prefix !== null && prefix !== dismissed && members ? mentionSuggestions(members, prefix, myId) : []),
    [prefix, dismissed, members, myId],
  );
  const choice = suggestions.length > 0 ? Math.min(active, suggestions.length - 1) : -1;
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const aborts = useRef(new Map<string, AbortController>());
  const ready = uploads.filter((u) => u.attachment !== null);
  const busy = uploads.some((u) => u.attachment === null && u.error === null);

  useEffect(() => {
    const pending = aborts.current;
    return () => {
      for (const a of pending.values()) a.abort();
    };
  }, []);

  const patch = (key: string, change: Partial<Upload>) =>
    setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...change } : u)));

  const attach = (files: File[]) => {
    for (const file of files.slice(0, Math.max(0, MAX_FILES - uploads.length))) {
      const key = chat.deps.newId();
      const name = file.name || 'pasted file';
      const abort = new AbortController();
      aborts.current.set(key, abort);
      setUploads((all) => [...all, { key, name, size: file.size, progress: 0, attachment: null, error: null }]);
      chat.deps.api
        .uploadFile(roomId, file, name, (progress) => patch(key, { progress }), abort.signal)
        .then(
          (attachment) => patch(key, { attachment, progress: 1 }),
          (e: unknown) =>
            patch(key, {
              error:
                e instanceof ApiError && e.code === 'too_large'
                  ? `Too large: ${e.message}`
                  : e instanceof Error
                    ? e.message
                    : 'Upload failed',
            }),
        )
        .finally(() => aborts.current.delete(key));
    }
  };

  const removeUpload = (key: string) => {
    aborts.current.get(key)?.abort();
    setUploads((all) => all.filter((u) => u.key !== key));
  };

  const onDrop = (e: DragEvent<HTMLFormElement>) => {
    if (e.dataTransfer.files.length === 0) return;
    e.preventDefault();
    setDragging(false);
    attach(Array.from(e.dataTransfer.files));
  };

  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = Array.from(e.clipboardData.files);
    if (files.length === 0) return;
    e.preventDefault();
    attach(files);
  };

  useEffect(() => {
    if (replyTo) ref.current?.focus();
  }, [replyTo]);

  useEffect(() => {
    // Ready to type on desktops; on touch screens do not pop the keyboard up unasked.
    if (window.matchMedia('(pointer: fine)').matches) ref.current?.focus({ preventScroll: true });
  }, [roomId]);

  // Grow with the content up to a limit.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  }, [text]);

  const update = (value: string) => {
    setText(value);
    chat.drafts.set(roomId, value);
    if (value.trim()) chat.typing.start(roomId);
    else chat.typing.stop(roomId);
  };

  const send = () => {
    if ((!text.trim() && ready.length === 0) || text.trim().length > MAX_LEN || busy) return;
    chat.outbox.send(
      roomId,
      text,
      replyTo?.seq,
      ready.map((u) => u.attachment!),
    );
    setUploads([]);
    setReplyTo(null);
    update('');
    ref.current?.focus();
  };

  const complete = (u: User) => {
    const before = text.slice(0, caret).replace(/@([A-Za-z0-9_.-]*)$/, `@${u.username} `);
    const next = before + text.slice(caret);
    update(next);
    setCaret(before.length);
    requestAnimationFrame(() => ref.current?.setSelectionRange(before.length, before.length));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (suggestions.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = suggestions.length;
        setActive((choice + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey) {
        e.preventDefault();
        complete(suggestions[choice]!);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(prefix);
        return;
      }
    }
    if (e.key === 'Escape' && replyTo) {
      e.preventDefault();
      setReplyTo(null);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const tooLong = text.trim().length > MAX_LEN;
  return (
    <form
      className={`px-4 pt-1 pb-4 md:px-6 ${dragging ? 'bg-indigo-50 dark:bg-indigo-500/10' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      data-testid="composer-form"
    >
      <UploadList uploads={uploads} onRemove={removeUpload} />
      {replyTo && (
        <div className="mb-1 flex items-center gap-2 px-1 text-[13px] text-zinc-700 dark:text-zinc-300" data-testid="replying-to">
          <span className="min-w-0 flex-1 truncate">
            Replying to <span className="font-medium">{replyTo.sender.display_name || replyTo.sender.username}</span>:{' '}
            {replyTo.body}
          </span>
          <button
            type="button"
            onClick={() => setReplyTo(null)}
            aria-label="Cancel reply"
            className="rounded-md p-1 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
          >
            <IconX size={14} />
          </button>
        </div>
      )}
      {suggestions.length > 0 && (
        <ul
          id={listId}
          role="listbox"
          aria-label="People to mention"
          className="mb-1 max-w-xs overflow-hidden rounded-lg border border-zinc-200 bg-white shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
        >
          {suggestions.map((u, i) => (
            <li
              key={u.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === choice}
              onPointerDown={(e) => {
                e.preventDefault();
                complete(u);
              }}
              className={`cursor-pointer px-3 py-1.5 text-sm ${i === choice ? 'bg-indigo-50 text-indigo-900 dark:bg-indigo-500/20 dark:text-indigo-100' : ''}`}
            >
              <span className="font-medium">{u.display_name || u.username}</span>{' '}
              <span className="text-zinc-600 dark:text-zinc-400">@{u.username}</span>
            </li>
          ))}
        </ul>
      )}
      <div
        className={`flex items-end gap-2 rounded-xl border bg-white px-3 py-2 shadow-xs transition focus-within:ring-2 dark:bg-zinc-900 ${
          tooLong
            ? 'border-red-400 focus-within:ring-red-500/20'
            : 'border-zinc-300 focus-within:border-indigo-500 focus-within:ring-indigo-500/15 dark:border-zinc-700'
        }`}
      >
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          onChange={(e) => {
            attach(Array.from(e.target.files ?? []));
            e.target.value = '';
          }}
          data-testid="file-input"
        />
        <button
          type="button"
          onClick={() => fileInput.current?.click()}
          aria-label="Attach files"
          title="Attach files (or drop or paste them)"
          className="mb-0.5 inline-flex h-8 w-8 shrink-0 items-center justify-center rounded-lg text-zinc-600 transition hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          <IconPaperclip size={16} />
        </button>
        <textarea
          ref={ref}
          onPaste={onPaste}
          rows={1}
          value={text}
          onChange={(e) => {
            update(e.target.value);
            setCaret(e.target.selectionStart);
            setActive(0);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
          aria-autocomplete="list"
          aria-controls={suggestions.length > 0 ? listId : undefined}
          aria-activedescendant={choice >= 0 ? `${listId}-${choice}` : undefined}
          placeholder={placeholder}
          aria-label="Message"
          aria-describedby={hintId}
          aria-invalid={tooLong || undefined}
          className="max-h-[200px] min-h-[24px] flex-1 resize-none bg-transparent py-1 text-[15px] leading-6 outline-none placeholder:text-zinc-400"
          data-testid="composer"
        />
        <button
          type="submit"
          disabled={(!text.trim() && ready.length === 0) || tooLong || busy}
          aria-label="Send message"
          title="Send (Enter)"
          className="mb-0.5 inline-flex h-8 w-8 shrink-0 items-center justify-center rounded-lg bg-indigo-600 text-white transition hover:bg-indigo-500 disabled:bg-zinc-200 disabled:text-zinc-400 dark:disabled:bg-zinc-800 dark:disabled:text-zinc-600"
        >
          <IconSend size={16} />
        </button>
      </div>
      <p id={hintId} className="mt-1.5 hidden px-1 text-[11px] text-zinc-500 dark:text-zinc-400 sm:block">
        {tooLong ? (
          <span className="text-red-600">{text.trim().length - MAX_LEN} characters over the limit</span>
        ) : (
          <>
            <kbd className="font-sans font-medium">Enter</kbd> to send · <kbd className="font-sans font-medium">Shift + Enter</kbd> for a new line
          </>
        )}
      </p>
    </form>
  );
}
