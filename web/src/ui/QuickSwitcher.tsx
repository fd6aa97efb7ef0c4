import { useEffect, useId, useState, type KeyboardEvent } from 'react';
import { roomTitle } from '../state/rooms';
import { matchRooms } from '../state/search';
import type { User } from '../state/types';
import { Avatar } from './Avatar';
import { Dialog } from './Dialog';
import { useChat, useSession } from './hooks';

type Option = {
  key: string;
  label: string;
  detail: string;
  pick: () => Promise<string>;
};

const MAX_ROOMS = 8;

/**
 * Ctrl/Cmd+K: type part of a conversation's or a person's name, move with ↑/↓ and
 * open with Enter. A combobox with a listbox (the active option is announced through
 * aria-activedescendant, so focus stays in the field).
 */
export function QuickSwitcher({ onClose, onOpen }: { onClose: () => void; onOpen: (roomId: string) => void }) {
  const chat = useSession();
  const me = useChat((s) => s.me);
  const rooms = useChat((s) => s.rooms);
  const order = useChat((s) => s.order);
  const [text, setText] = useState('');
  const [people, setPeople] = useState<{ prefix: string; users: User[] }>({
    prefix: '',
    users: [],
  });
  const [active, setActive] = useState(0);
  const [failed, setFailed] = useState('');
  const inputId = useId();
  const listId = useId();
  const myId = me?.id ?? null;

  const prefix = text.trim().toLowerCase().replace(/^@/, '');
  useEffect(() => {
    if (!/^[a-z0-9_.-]{1,32}$/.test(prefix)) return;
    let cancelled = false;
    const t = setTimeout(() => {
      chat.rooms.searchUsers(prefix).then(
        (users) => {
          if (!cancelled) setPeople({ prefix, users });
        },
        () => undefined,
      );
    }, 150);
    return () => {
      cancelled = true;
      clearTimeout(t);
    };
  }, [chat, prefix]);

  const held = order.flatMap((id) => (rooms[id] ? [rooms[id]] : []));
  const roomOptions: Option[] = matchRooms(held, text, myId)
    .slice(0, MAX_ROOMS)
    .map((r) => ({
      key: `room-${r.id}`,
      label: roomTitle(r, myId),
      detail: r.kind === 'group' ? 'Group' : 'Direct message',
      pick: () => Promise.resolve(r.id),
    }));
  const personOptions: Option[] = (prefix && people.prefix === prefix ? people.users : []).map((u) => ({
    key: `user-${u.id}`,
    label: u.display_name || u.username,
    detail: `@${u.username}`,
    pick: () => chat.rooms.createDirect(u.username),
  }));
  const options = [...roomOptions, ...personOptions];
  const current = Math.min(active, Math.max(options.length - 1, 0));

  const choose = (option: Option | undefined) => {
    if (!option) return;
    option.pick().then(
      (id) => {
        onClose();
        onOpen(id);
      },
      (e: unknown) => setFailed(e instanceof Error ? e.message : 'Could not open that conversation.'),
    );
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = options.length;
      if (n) setActive((current + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      choose(options[current]);
    }
  };

  const optionId = (i: number) => `${listId}-${i}`;
  const userFor = (key: string) => people.users.find((u) => `user-${u.id}` === key);
  return (
    <Dialog title="Jump to" description="A conversation or a person. ↑ ↓ to move, Enter to open." onClose={onClose}>
      <label htmlFor={inputId} className="sr-only">
        Conversation or person
      </label>
      <input
        id={inputId}
        type="text"
        role="combobox"
        aria-expanded={options.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={options.length ? optionId(current) : undefined}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setActive(0);
          setFailed('');
        }}
        onKeyDown={onKey}
        placeholder="Name or @username…"
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        data-autofocus
        className="w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-[15px] outline-none placeholder:text-zinc-500 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-950 dark:placeholder:text-zinc-400"
      />
      <ul id={listId} role="listbox" aria-label="Conversations and people" className="mt-2 max-h-72 overflow-y-auto">
        {options.map((o, i) => {
          const user = userFor(o.key);
          return (
            <li
              key={o.key}
              id={optionId(i)}
              role="option"
              aria-selected={i === current}
              onMouseMove={() => setActive(i)}
              onClick={() => choose(o)}
              className={`flex cursor-pointer items-center gap-3 rounded-lg px-2 py-2 ${
                i === current ? 'bg-indigo-50 dark:bg-zinc-800' : ''
              }`}
            >
              {user && <Avatar user={user} size="sm" />}
              <span className="min-w-0 flex-1 truncate text-sm font-medium">{o.label}</span>
              <span className="shrink-0 text-xs text-zinc-600 dark:text-zinc-400">{o.detail}</span>
            </li>
          );
        })}
      </ul>
      <p className="px-2 pt-1 text-xs text-zinc-600 dark:text-zinc-400" aria-live="polite">
        {failed || (text.trim() && options.length === 0 ? 'Nothing matches.' : '')}
      </p>
    </Dialog>
  );
}

/**
 * The page's navigation keys: Ctrl/Cmd+K opens the switcher; Alt+↑/↓ moves to the
 * conversation above or below in the list, Alt+Shift+↑/↓ to the nearest one with
 * unread messages. They work from any field, the composer included.
 */
export function useNavigationKeys(onSwitcher: () => void, onStep: (dir: 1 | -1, unreadOnly: boolean) => void) {
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        onSwitcher();
      } else if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        e.preventDefault();
        onStep(e.key === 'ArrowDown' ? 1 : -1, e.shiftKey);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onSwitcher, onStep]);
}
