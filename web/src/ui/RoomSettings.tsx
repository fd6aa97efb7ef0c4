import { useEffect, useId, useState } from 'react';
import { ApiError } from '../state/api';
import type { RoomState } from '../state/rooms';
import type { DirectoryRoom, User } from '../state/types';
import { Dialog } from './Dialog';
import { useChat, useSession } from './hooks';

/**
 * Running a group: its settings, what each member's role lets me do to them, the
 * directory of public groups, and hiding a direct conversation. The server checks
 * every action against the roles it stores; the UI only offers what it would allow.
 */

export type Role = 'owner' | 'admin' | 'member';

export function roleOf(room: RoomState, userId: string | null): Role {
  return (userId && room.roles[userId]) || 'member';
}

/** Owners and admins run a group: settings, adding and removing members. */
export function runsGroup(room: RoomState, userId: string | null): boolean {
  return room.kind === 'group' && roleOf(room, userId) !== 'member';
}

function text(e: unknown): string {
  if (e instanceof ApiError) return e.message || 'Something went wrong.';
  return 'Something went wrong. Check your connection.';
}

const field =
  'block w-full rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-900';
const small =
  'inline-flex items-center rounded-md border border-zinc-300 px-2 py-1 text-xs font-medium hover:bg-zinc-50 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800';
const danger =
  'inline-flex items-center rounded-md bg-red-600 px-2 py-1 text-xs font-medium text-white hover:bg-red-500 disabled:opacity-50';
const label = 'mb-1 block text-xs font-semibold tracking-wide text-zinc-600 uppercase dark:text-zinc-400';

/** Name, topic and visibility: a form for owners and admins, the topic as text for others. */
export function GroupSettings({ room }: { room: RoomState }) {
  const chat = useSession();
  const myId = useChat((s) => s.me?.id ?? null);
  const [name, setName] = useState(room.name ?? '');
  const [topic, setTopic] = useState(room.topic ?? '');
  const [isPublic, setPublic] = useState(room.public);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const nameId = useId();
  const topicId = useId();
  const publicId = useId();
  if (room.kind !== 'group') return null;
  if (!runsGroup(room, myId)) {
    return (
      <div className="mb-4">
        {room.topic && (
          <p className="text-sm text-zinc-700 dark:text-zinc-300" data-testid="room-topic">
            {room.topic}
          </p>
        )}
        <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">
          {room.public ? 'Public: anyone can find and join it.' : 'Invite-only.'}
        </p>
      </div>
    );
  }
  const save = async () => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await chat.rooms.update(room.id, { name: name.trim(), topic: topic.trim(), public: isPublic });
      setStatus('Saved.');
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="mb-4 space-y-3"
      aria-label="Group settings"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <div>
        <label htmlFor={nameId} className={label}>
          Name
        </label>
        <input id={nameId} className={field} value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
      </div>
      <div>
        <label htmlFor={topicId} className={label}>
          Topic
        </label>
        <input id={topicId} className={field} value={topic} maxLength={250} onChange={(e) => setTopic(e.target.value)} />
      </div>
      <div className="flex items-center gap-2">
        <input id={publicId} type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />
        <label htmlFor={publicId} className="text-sm">
          Public: listed in the directory, anyone can join
        </label>
      </div>
      <div className="flex items-center gap-3">
        <button
          type="submit"
          disabled={busy || !name.trim()}
          className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50"
        >
          Save settings
        </button>
        <span className="text-sm text-zinc-600 dark:text-zinc-400" aria-live="polite">
          {status}
        </span>
      </div>
      {error && (
        <p role="alert" className="text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </form>
  );
}

/** A member's role, and the actions my role allows on them, each confirmed first when it cannot be undone. */
export function MemberActions({ room, user }: { room: RoomState; user: User }) {
  const chat = useSession();
  const myId = useChat((s) => s.me?.id ?? null);
  const [confirm, setConfirm] = useState<'remove' | 'owner' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mine = roleOf(room, myId);
  const theirs = roleOf(room, user.id);
  const name = user.display_name || user.username;
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      setConfirm(null);
    } catch (e) {
      setError(text(e));
    } finally {
      setBusy(false);
    }
  };
  if (room.kind !== 'group') return null;
  const self = user.id === myId;
  const canRemove = !self && theirs !== 'owner' && (mine === 'owner' || (mine === 'admin' && theirs === 'member'));
  const canPromote = mine === 'owner' && !self;
  return (
    <span className="flex shrink-0 flex-wrap items-center justify-end gap-1">
      {theirs !== 'member' && (
        <span className="rounded-full bg-zinc-100 px-2 py-0.5 text-xs font-medium text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
          {theirs === 'owner' ? 'Owner' : 'Admin'}
        </span>
      )}
      {confirm === 'remove' && (
        <>
          <span className="text-xs">Remove {name}?</span>
          <button type="button" className={small} onClick={() => setConfirm(null)}>
            Cancel
          </button>
          <button
            type="button"
            className={danger}
            disabled={busy}
            onClick={() => void run(() => chat.rooms.removeMember(room.id, user.id))}
          >
            Remove
          </button>
        </>
      )}
      {confirm === 'owner' && (
        <>
          <span className="text-xs">Make {name} the owner?</span>
          <button type="button" className={small} onClick={() => setConfirm(null)}>
            Cancel
          </button>
          <button
            type="button"
            className={danger}
            disabled={busy}
            onClick={() => void run(() => chat.rooms.transferOwnership(room.id, user.id))}
          >
            Hand over
          </button>
        </>
      )}
      {confirm === null && canPromote && (
        <>
          <button
            type="button"
            className={small}
            disabled={busy}
            aria-label={`${theirs === 'admin' ? 'Remove admin' : 'Make admin'}: ${name}`}
            onClick={() =>
              void run(() => chat.rooms.setRole(room.id, user.id, theirs === 'admin' ? 'member' : 'admin'))
            }
          >
            {theirs === 'admin' ? 'Remove admin' : 'Make admin'}
          </button>
          <button type="button" className={small} aria-label={`Make owner: ${name}`} onClick={() => setConfirm('owner')}>
            Make owner
          </button>
        </>
      )}
      {confirm === null && canRemove && (
        <button type="button" className={small} aria-label={`Remove ${name}`} onClick={() => setConfirm('remove')}>
          Remove
        </button>
      )}
      {error && (
        <span role="alert" className="w-full text-right text-xs text-red-600 dark:text-red-400">
          {error}
        </span>
      )}
    </span>
  );
}

/** Out of my list until the next message; the other person sees nothing. */
export function HideConversation({ room, onHidden }: { room: RoomState; onHidden: () => void }) {
  const chat = useSession();
  const [error, setError] = useState<string | null>(null);
  if (room.kind !== 'direct') return null;
  return (
    <div className="mt-5 border-t border-zinc-200 pt-4 dark:border-zinc-800">
      <button
        type="button"
        className="rounded-lg border border-zinc-300 px-3 py-1.5 text-sm font-medium hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
        onClick={() => {
          setError(null);
          chat.rooms.hide(room.id).then(onHidden, (e: unknown) => setError(text(e)));
        }}
      >
        Hide conversation
      </button>
      <p className="mt-1 text-xs text-zinc-600 dark:text-zinc-400">It comes back with the next message.</p>
      {error && (
        <p role="alert" className="mt-2 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}

/** Browse public groups: search by name or topic, page on, join (or open one I am in). */
export function DirectoryDialog({ onClose, onOpen }: { onClose: () => void; onOpen: (roomId: string) => void }) {
  const chat = useSession();
  const mine = useChat((s) => s.rooms);
  const [q, setQ] = useState('');
  const [found, setFound] = useState<DirectoryRoom[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const searchId = useId();

  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      chat.rooms.directory(q.trim(), null).then(
        (page) => {
          if (!live) return;
          setFound(page.rooms);
          setNext(page.next_cursor);
          setLoaded(true);
          setError(null);
        },
        (e: unknown) => live && setError(text(e)),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [chat, q]);

  const more = async () => {
    try {
      const page = await chat.rooms.directory(q.trim(), next);
      setFound((f) => [...f, ...page.rooms]);
      setNext(page.next_cursor);
    } catch (e) {
      setError(text(e));
    }
  };
  const join = async (id: string) => {
    try {
      onOpen(await chat.rooms.join(id));
    } catch (e) {
      setError(text(e));
    }
  };

  return (
    <Dialog title="Browse rooms" description="Public groups anyone can join." onClose={onClose}>
      <label htmlFor={searchId} className={label}>
        Search rooms
      </label>
      <input
        id={searchId}
        type="search"
        className={field}
        value={q}
        maxLength={200}
        placeholder="Name or topic"
        onChange={(e) => setQ(e.target.value)}
      />
      <ul className="mt-3 max-h-80 space-y-1 overflow-y-auto" aria-label="Public rooms" data-testid="directory">
        {found.map((r) => {
          const local = mine[r.id];
          const member = local !== undefined && !local.placeholder;
          return (
            <li key={r.id} className="flex items-center gap-3 rounded-lg px-1 py-1.5">
              <span className="min-w-0 flex-1">
                <span className="block truncate text-sm font-medium">{r.name}</span>
                <span className="block truncate text-xs text-zinc-600 dark:text-zinc-400">
                  {r.members} {r.members === 1 ? 'member' : 'members'}
                  {r.topic ? ` · ${r.topic}` : ''}
                </span>
              </span>
              <button
                type="button"
                className={small}
                aria-label={member ? `Open ${r.name}` : `Join ${r.name}`}
                onClick={() => (member ? onOpen(r.id) : void join(r.id))}
              >
                {member ? 'Open' : 'Join'}
              </button>
            </li>
          );
        })}
      </ul>
      {loaded && found.length === 0 && (
        <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-400">No public rooms match.</p>
      )}
      {next && (
        <button type="button" className={`${small} mt-2`} onClick={() => void more()}>
          More rooms
        </button>
      )}
      {error && (
        <p role="alert" className="mt-2 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </Dialog>
  );
}
