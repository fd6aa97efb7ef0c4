import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useSession } from './hooks';
import { IconSend } from './icons';

const MAX_LEN = 4000;

export function Composer({ roomId, placeholder }: { roomId: string; placeholder: string }) {
  const chat = useSession();
  // Typed text is local state (the caret needs synchronous updates), kept in the
  // session's drafts so it survives switching rooms and dies with the session.
  const [text, setText] = useState(() => chat.drafts.get(roomId));
  const ref = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();

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
    if (!text.trim() || text.trim().length > MAX_LEN) return;
    chat.outbox.send(roomId, text);
    update('');
    ref.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const tooLong = text.trim().length > MAX_LEN;
  return (
    <form
      className="px-4 pt-1 pb-4 md:px-6"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <div
        className={`flex items-end gap-2 rounded-xl border bg-white px-3 py-2 shadow-xs transition focus-within:ring-2 dark:bg-zinc-900 ${
          tooLong
            ? 'border-red-400 focus-within:ring-red-500/20'
            : 'border-zinc-300 focus-within:border-indigo-500 focus-within:ring-indigo-500/15 dark:border-zinc-700'
        }`}
      >
        <textarea
          ref={ref}
          rows={1}
          value={text}
          onChange={(e) => update(e.target.value)}
          onKeyDown={onKeyDown}
          placeholder={placeholder}
          aria-label="Message"
          aria-describedby={hintId}
          aria-invalid={tooLong || undefined}
          className="max-h-[200px] min-h-[24px] flex-1 resize-none bg-transparent py-1 text-[15px] leading-6 outline-none placeholder:text-zinc-400"
          data-testid="composer"
        />
        <button
          type="submit"
          disabled={!text.trim() || tooLong}
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
