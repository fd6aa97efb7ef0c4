import { useEffect, useId, useRef, useState } from 'react';
import type { User } from '../state/types';
import { useSession } from './hooks';

/**
 * "Seen by" under my last message in a group: the server does not push group
 * members' read markers, so they are fetched when the reader opens this
 * (click, Enter or Space) and again each time it is opened. Keyed by the
 * message's seq, so a newer message of mine starts closed and empty.
 */
export function SeenBy({ roomId, seq, myId }: { roomId: string; seq: number; myId: string }) {
  const chat = useSession();
  const [open, setOpen] = useState(false);
  const [seen, setSeen] = useState<User[] | null>(null);
  const [failed, setFailed] = useState(false);
  const panelId = useId();
  const root = useRef<HTMLDivElement>(null);

  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const toggle = () => {
    if (open) {
      setOpen(false);
      return;
    }
    setOpen(true);
    setSeen(null);
    setFailed(false);
    chat.deps.api.reads(roomId, seq).then(
      (r) => {
        if (mounted.current) setSeen(r.reads.map((m) => m.user).filter((u) => u.id !== myId));
      },
      () => {
        if (mounted.current) setFailed(true);
      },
    );
  };

  useEffect(() => {
    if (!open) return;
    const close = (e: PointerEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !(e.target instanceof Node && root.current?.contains(e.target))) {
        setOpen(false);
      }
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  let text = 'Loading…';
  if (failed) text = 'Could not load who has seen it.';
  else if (seen !== null) text = seen.length === 0 ? 'Not seen yet' : `Seen by ${seen.map((u) => u.display_name || u.username).join(', ')}`;

  return (
    <div ref={root} className="relative flex justify-end px-4 md:px-6" data-testid="seen-by">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={toggle}
        className="rounded px-1.5 py-0.5 text-xs text-zinc-600 hover:bg-zinc-100 hover:text-zinc-800 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
      >
        Seen by…
      </button>
      {open && (
        <div
          id={panelId}
          role="status"
          className="absolute right-4 bottom-full z-10 mb-1 max-w-xs rounded-lg border border-zinc-200 bg-white px-3 py-2 text-xs text-zinc-800 shadow-lg md:right-6 dark:border-zinc-700 dark:bg-zinc-800 dark:text-zinc-100"
        >
          {text}
        </div>
      )}
    </div>
  );
}
