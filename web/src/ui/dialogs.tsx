import { LastSeen } from './LastSeen';
import { useId, useState } from 'react';
import { ApiError } from '../state/api';
import { roomTitle, type RoomState } from '../state/rooms';
import type { User } from '../state/types';
import { Avatar } from './Avatar';
import { Dialog } from './Dialog';
import { useChat, useSession } from './hooks';
import { IconLogOut, IconUserPlus, IconX } from './icons';
import { GroupSettings, HideConversation, MemberActions, runsGroup } from './RoomSettings';
import { UserPicker } from './UserPicker';

function message(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'not_found') return 'That person or conversation no longer exists.';
    return e.message || 'Something went wrong.';
  }
  return 'Something went wrong. Check your connection.';
}

const primary =
  'inline-flex items-center justify-center gap-2 rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50';
const secondary =
  'inline-flex items-center justify-center gap-2 rounded-lg border border-zinc-300 px-4 py-2 text-sm font-medium hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800';

export function NewChatDialog({
  initialMode,
  onClose,
  onOpen,
}: {
  initialMode: 'direct' | 'group';
  onClose: () => void;
  onOpen: (roomId: string) => void;
}) {
  const chat = useSession();
  const [mode, setMode] = useState(initialMode);
  const [picked, setPicked] = useState<User[]>([]);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameId = useId();
  const publicId = useId();
  const [isPublic, setPublic] = useState(false);

  const startDirect = async (u: User) => {
    setBusy(true);
    setError(null);
    try {
      onOpen(await chat.rooms.createDirect(u.username));
    } catch (e) {
      setError(message(e));
      setBusy(false);
    }
  };

  const createGroup = async () => {
    setBusy(true);
    setError(null);
    try {
      onOpen(await chat.rooms.createGroup(name.trim(), picked.map((u) => u.username), isPublic));
    } catch (e) {
      setError(message(e));
      setBusy(false);
    }
  };

  const toggle = (u: User) =>
    setPicked((cur) => (cur.some((x) => x.id === u.id) ? cur.filter((x) => x.id !== u.id) : [...cur, u]));

  const tab = (m: 'direct' | 'group', text: string) => (
    <button
      type="button"
      role="tab"
      aria-selected={mode === m}
      onClick={() => {
        setMode(m);
        setError(null);
      }}
      className={`flex-1 rounded-md px-3 py-1.5 text-sm font-medium transition ${
        mode === m
          ? 'bg-white text-zinc-900 shadow-sm dark:bg-zinc-700 dark:text-white'
          : 'text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100'
      }`}
    >
      {text}
    </button>
  );

  return (
    <Dialog
      title={mode === 'direct' ? 'New message' : 'New group'}
      description={mode === 'direct' ? 'Find someone to talk to.' : 'Name it and add people.'}
      onClose={onClose}
    >
      <div role="tablist" aria-label="Conversation type" className="mb-4 flex gap-1 rounded-lg bg-zinc-100 p-1 dark:bg-zinc-800">
        {tab('direct', 'Direct message')}
        {tab('group', 'Group')}
      </div>
      {mode === 'group' && (
        <div className="mb-3">
          <label htmlFor={nameId} className="mb-1.5 block text-sm font-medium text-zinc-700 dark:text-zinc-300">
            Group name
          </label>
          <input
            id={nameId}
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={80}
            placeholder="e.g. Weekend trip"
            className="w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-[15px] outline-none placeholder:text-zinc-400 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/20 dark:border-zinc-700 dark:bg-zinc-950"
          />
          <div className="mt-2 flex items-center gap-2">
            <input id={publicId} type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />
            <label htmlFor={publicId} className="text-sm text-zinc-700 dark:text-zinc-300">
              Public: listed in Browse rooms, anyone can join
            </label>
          </div>
          {picked.length > 0 && (
            <ul aria-label="Selected people" className="mt-3 flex flex-wrap gap-1.5">
              {picked.map((u) => (
                <li key={u.id}>
                  <button
                    type="button"
                    onClick={() => toggle(u)}
                    aria-label={`Remove ${u.display_name || u.username}`}
                    className="inline-flex items-center gap-1 rounded-full bg-indigo-50 py-1 pr-1.5 pl-2.5 text-xs font-medium text-indigo-700 hover:bg-indigo-100 dark:bg-indigo-500/15 dark:text-indigo-300"
                  >
                    {u.display_name || u.username}
                    <IconX size={12} />
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <UserPicker
        multi={mode === 'group'}
        selected={picked}
        onPick={(u) => (mode === 'group' ? toggle(u) : void startDirect(u))}
        label={mode === 'group' ? 'Add people' : 'Search people'}
      />
      {error && (
        <p role="alert" className="mt-3 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      {mode === 'group' && (
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" className={secondary} onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className={primary}
            disabled={busy || !name.trim() || (picked.length === 0 && !isPublic)}
            onClick={() => void createGroup()}
          >
            {busy ? 'Creating…' : 'Create group'}
          </button>
        </div>
      )}
    </Dialog>
  );
}

export function AddMemberDialog({ room, onClose }: { room: RoomState; onClose: () => void }) {
  const chat = useSession();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<User[]>([]);
  const pick = async (u: User) => {
    setBusy(u.id);
    setError(null);
    try {
      await chat.rooms.addMember(room.id, u.username);
      setAdded((a) => [...a, u]);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <Dialog title="Add people" description={`Add someone to ${room.name || 'this group'}.`} onClose={onClose}>
      <UserPicker
        multi={false}
        action="Add"
        label="Search people to add"
        selected={added}
        exclude={room.members.map((m) => m.id)}
        onPick={(u) => void pick(u)}
      />
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400" aria-live="polite">
        {busy && 'Adding…'}
        {!busy && added.length > 0 && `Added ${added.map((u) => u.display_name || u.username).join(', ')}.`}
      </p>
      {error && (
        <p role="alert" className="mt-2 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      <div className="mt-4 flex justify-end">
        <button type="button" className={secondary} onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}

export function RoomDetailsDialog({
  room,
  onClose,
  onAdd,
  onLeft,
}: {
  room: RoomState;
  onClose: () => void;
  onAdd: () => void;
  onLeft: () => void;
}) {
  const me = useChat((s) => s.me);
  const chat = useSession();
  const presence = useChat((s) => s.presence);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const leave = async () => {
    setBusy(true);
    try {
      await chat.rooms.leave(room.id);
      onLeft();
    } catch (e) {
      setError(message(e));
      setBusy(false);
    }
  };
  const isGroup = room.kind === 'group';
  const sorted = [...room.members].sort((a, b) =>
    (a.display_name || a.username).localeCompare(b.display_name || b.username),
  );
  return (
    <Dialog
      title={roomTitle(room, me?.id ?? null)}
      description={isGroup ? `${room.members.length} members` : 'Direct message'}
      onClose={onClose}
    >
      <GroupSettings room={room} />
      <h3 className="mb-2 text-xs font-semibold tracking-wide text-zinc-500 dark:text-zinc-400 uppercase">Members</h3>
      <ul className="max-h-72 space-y-0.5 overflow-y-auto" aria-label="Members">
        {sorted.map((u) => {
          const online = u.id === me?.id || presence[u.id] === 'online';
          return (
            <li key={u.id} className="flex items-center gap-3 rounded-lg px-1 py-1.5">
              <Avatar user={u} size="sm" online={online} />
              <span className="min-w-0 flex-1">
                <span className="block truncate text-sm font-medium">
                  {u.display_name || u.username}
                  {u.id === me?.id && <span className="font-normal text-zinc-500 dark:text-zinc-400"> (you)</span>}
                </span>
                <span className="block truncate text-xs text-zinc-500 dark:text-zinc-400">
                  @{u.username} · {u.id === me?.id ? 'online' : <LastSeen userId={u.id} online={online} />}
                </span>
              </span>
              <MemberActions room={room} user={u} />
            </li>
          );
        })}
      </ul>
      {error && (
        <p role="alert" className="mt-3 text-sm text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
      <HideConversation room={room} onHidden={onLeft} />
      {isGroup && (
        <div className="mt-5 flex flex-wrap justify-between gap-2 border-t border-zinc-200 pt-4 dark:border-zinc-800">
          {runsGroup(room, me?.id ?? null) ? (
            <button type="button" className={secondary} onClick={onAdd}>
              <IconUserPlus size={16} /> Add people
            </button>
          ) : (
            <span />
          )}
          {confirm ? (
            <span className="flex items-center gap-2">
              <span className="text-sm text-zinc-600 dark:text-zinc-400">Leave this group?</span>
              <button type="button" className={secondary} onClick={() => setConfirm(false)}>
                Stay
              </button>
              <button
                type="button"
                disabled={busy}
                onClick={() => void leave()}
                className="inline-flex items-center gap-2 rounded-lg bg-red-600 px-4 py-2 text-sm font-medium text-white hover:bg-red-500 disabled:opacity-60"
              >
                Leave
              </button>
            </span>
          ) : (
            <button
              type="button"
              onClick={() => setConfirm(true)}
              className="inline-flex items-center gap-2 rounded-lg px-3 py-2 text-sm font-medium text-red-600 hover:bg-red-50 dark:text-red-400 dark:hover:bg-red-950/40"
            >
              <IconLogOut size={16} /> Leave group
            </button>
          )}
        </div>
      )}
    </Dialog>
  );
}
