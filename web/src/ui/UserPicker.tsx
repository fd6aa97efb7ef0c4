import { useEffect, useId, useState } from 'react';
import type { User } from '../state/types';
import { Avatar } from './Avatar';
import { useChat, useSession } from './hooks';
import { IconCheck, IconSearch } from './icons';

/** Search users by prefix (GET /api/users?q=) and pick one or several. */
export function UserPicker({
  selected,
  onPick,
  exclude = [],
  multi,
  label = 'Search people',
  action = 'Message',
}: {
  selected: readonly User[];
  onPick: (u: User) => void;
  exclude?: readonly string[];
  multi: boolean;
  label?: string;
  /** Verb for the accessible name of a result when picking one person. */
  action?: string;
}) {
  const chat = useSession();
  const [q, setQ] = useState('');
  // The answer for the latest prefix searched; older results stay shown while a newer search runs.
  const [found, setFound] = useState<{ prefix: string; users: User[]; failed: boolean } | null>(null);
  const inputId = useId();
  const listId = useId();
  const presence = useChat((s) => s.presence);

  const prefix = q.trim().toLowerCase();
  useEffect(() => {
    if (!prefix) return;
    let cancelled = false;
    const t = setTimeout(() => {
      chat.rooms.searchUsers(prefix).then(
        (users) => {
          if (!cancelled) setFound({ prefix, users, failed: false });
        },
        () => {
          if (!cancelled) setFound((f) => ({ prefix, users: f?.users ?? [], failed: true }));
        },
      );
    }, 150);
    return () => {
      cancelled = true;
      clearTimeout(t);
    };
  }, [chat, prefix]);
  const results = prefix ? (found?.users ?? []) : [];
  const state = !prefix || found?.prefix === prefix ? (found?.failed && prefix ? 'error' : 'idle') : 'loading';

  const visible = results.filter((u) => !exclude.includes(u.id));
  const isSelected = (u: User) => selected.some((s) => s.id === u.id);

  return (
    <div>
      <label htmlFor={inputId} className="sr-only">
        {label}
      </label>
      <div className="relative">
        <IconSearch className="pointer-events-none absolute top-1/2 left-3 -translate-y-1/2 text-zinc-500 dark:text-zinc-400" size={16} />
        <input
          id={inputId}
          type="search"
          role="combobox"
          aria-expanded={visible.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          placeholder="Search by username…"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          autoFocus
          className="w-full rounded-lg border border-zinc-300 bg-white py-2 pr-3 pl-9 text-[15px] outline-none placeholder:text-zinc-400 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-950"
        />
      </div>
      {/* A list of buttons, not a listbox: each result is an action, and its name is its text. */}
      <ul id={listId} aria-label="People" className="mt-2 max-h-64 overflow-y-auto">
        {visible.map((u) => (
          <li key={u.id}>
            <button
              type="button"
              onClick={() => onPick(u)}
              aria-pressed={multi ? isSelected(u) : undefined}
              className="flex w-full items-center gap-3 rounded-lg px-2 py-2 text-left hover:bg-zinc-100 focus-visible:bg-zinc-100 dark:hover:bg-zinc-800 dark:focus-visible:bg-zinc-800"
            >
              <Avatar user={u} size="sm" online={presence[u.id] === 'online' ? true : undefined} />
              <span className="min-w-0 flex-1">
                <span className="block truncate text-sm font-medium">
                  <span className="sr-only">{multi ? (isSelected(u) ? 'Remove' : 'Add') : action} </span>
                  {u.display_name || u.username}
                </span>
                <span className="block truncate text-xs text-zinc-500 dark:text-zinc-400">@{u.username}</span>
              </span>
              {isSelected(u) && <IconCheck className="text-indigo-600 dark:text-indigo-400" size={16} />}
            </button>
          </li>
        ))}
      </ul>
      <p className="px-2 pt-1 text-xs text-zinc-500 dark:text-zinc-400" aria-live="polite">
        {state === 'loading' && 'Searching…'}
        {state === 'error' && 'Search failed. Try again.'}
        {state === 'idle' && q.trim() !== '' && visible.length === 0 && 'No one found with that username.'}
      </p>
    </div>
  );
}
