import { memo, useState } from 'react';
import { preview, shortStamp } from '../state/format';
import { directPeer, roomTitle, type RoomState } from '../state/rooms';
import { activeTyping } from '../state/typing';
import { Avatar } from './Avatar';
import { openSettings, useChat, useNow, useStore } from './hooks';
import { NotificationBell } from './NotificationsPanel';
import { IconChat, IconCompass, IconLogOut, IconPlus, IconSearch, IconSliders, IconUsers } from './icons';

const RoomItem = memo(function RoomItem({
  room,
  active,
  myId,
  online,
  typing,
  now,
  onOpen,
}: {
  room: RoomState;
  active: boolean;
  myId: string | null;
  online: boolean | undefined;
  typing: boolean;
  now: Date;
  onOpen: (id: string) => void;
}) {
  const title = roomTitle(room, myId);
  const peer = directPeer(room, myId);
  const last = room.last_message;
  const unread = active ? 0 : room.unread;
  const mentions = active ? 0 : room.mentions;
  const who = last ? (last.sender.id === myId ? 'You: ' : room.kind === 'group' ? `${last.sender.display_name || last.sender.username}: ` : '') : '';
  return (
    <li>
      <a
        href={`/r/${encodeURIComponent(room.id)}`}
        onClick={(e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          onOpen(room.id);
        }}
        aria-current={active ? 'page' : undefined}
        data-room-id={room.id}
        className={`group flex items-center gap-3 rounded-lg px-2.5 py-2 transition-colors ${
          active
            ? 'bg-white shadow-sm ring-1 ring-zinc-200 dark:bg-zinc-800 dark:ring-zinc-700'
            : 'hover:bg-zinc-200/60 dark:hover:bg-zinc-800/60'
        }`}
      >
        {peer ? (
          <Avatar user={peer} online={online} />
        ) : (
          <Avatar user={{ id: room.id, display_name: title, username: title }} group />
        )}
        <span className="min-w-0 flex-1">
          <span className="flex items-baseline gap-2">
            <span className={`min-w-0 flex-1 truncate text-sm ${unread > 0 ? 'font-semibold' : 'font-medium'}`}>
              {title}
              {/* The link's name is its text: commas read the parts apart, the status is said in words. */}
              <span className="sr-only">{online ? ', online, ' : ', '}</span>
            </span>
            {last && (
              <time
                dateTime={last.created_at}
                className={`shrink-0 text-[11px] tabular-nums ${unread > 0 ? 'text-indigo-600 dark:text-indigo-400' : 'text-zinc-500 dark:text-zinc-400'}`}
              >
                {shortStamp(new Date(last.created_at), now)}
              </time>
            )}
          </span>
          <span className="mt-0.5 flex items-center gap-2">
            <span
              className={`min-w-0 flex-1 truncate text-[13px] ${
                typing ? 'text-indigo-600 italic dark:text-indigo-400' : unread > 0 ? 'text-zinc-700 dark:text-zinc-300' : 'text-zinc-500 dark:text-zinc-400'
              }`}
              data-testid="room-preview"
            >
              {typing ? 'typing…' : last ? who + (last.deleted ? 'Message deleted' : preview(last.body, 90)) : room.kind === 'group' ? `${room.members.length} members` : 'No messages yet'}
            </span>
            {mentions > 0 && (
              <>
                <span className="sr-only">, {mentions} {mentions === 1 ? 'mention' : 'mentions'}</span>
                <span
                  className="inline-flex h-5 min-w-5 shrink-0 items-center justify-center rounded-full bg-amber-200 px-1.5 text-[11px] font-semibold text-amber-950 tabular-nums dark:bg-amber-400"
                  data-testid="mention-badge"
                  aria-hidden="true"
                >
                  @{mentions > 99 ? '99+' : mentions}
                </span>
              </>
            )}
            {unread > 0 && (
              <>
                <span className="sr-only">, {unread} unread</span>
                <span
                  className="inline-flex h-5 min-w-5 shrink-0 items-center justify-center rounded-full bg-indigo-600 px-1.5 text-[11px] font-semibold text-white tabular-nums"
                  data-testid="unread-badge"
                  aria-hidden="true"
                >
                  {unread > 99 ? '99+' : unread}
                </span>
              </>
            )}
          </span>
        </span>
      </a>
    </li>
  );
});

export function Sidebar({
  activeRoom,
  onOpen,
  onNew,
  onSearch,
  onBrowse,
  onNotifications,
}: {
  activeRoom: string | null;
  onOpen: (id: string) => void;
  onNew: (mode: 'direct' | 'group') => void;
  onSearch: () => void;
  onBrowse: () => void;
  onNotifications: () => void;
}) {
  const me = useChat((s) => s.me);
  const order = useChat((s) => s.order);
  const rooms = useChat((s) => s.rooms);
  const store = useStore();
  const presence = useChat((s) => s.presence);
  const typing = useChat((s) => s.typing);
  const loaded = useChat((s) => s.roomsLoaded);
  const now = useNow();
  const [filter, setFilter] = useState<'all' | 'direct' | 'group'>('all');
  // Back from linking an account at a provider: the settings open to say how it went.
  const myId = me?.id ?? null;
  const ids = order.filter((id) => !rooms[id]?.hidden && (filter === 'all' || rooms[id]?.kind === filter));
  const nowMs = now.getTime();

  const filterBtn = (f: typeof filter, text: string) => (
    <button
      type="button"
      aria-pressed={filter === f}
      onClick={() => setFilter(f)}
      className={`rounded-md px-2.5 py-1 text-xs font-medium transition ${
        filter === f
          ? 'bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900'
          : 'text-zinc-600 hover:bg-zinc-200/70 dark:text-zinc-400 dark:hover:bg-zinc-800'
      }`}
    >
      {text}
    </button>
  );

  return (
    <nav aria-label="Conversations" className="flex h-full min-h-0 flex-col bg-zinc-50 dark:bg-zinc-900">
      <div className="flex items-center gap-2 px-4 pt-4 pb-3">
        <div className="flex h-8 w-8 items-center justify-center rounded-lg bg-indigo-600 text-white">
          <IconChat size={16} />
        </div>
        <span className="flex-1 text-[15px] font-semibold tracking-tight">Parley</span>
        <NotificationBell onOpen={onNotifications} />
        <button
          type="button"
          onClick={onSearch}
          aria-label="Search messages"
          title="Search messages (Ctrl+K jumps to a conversation)"
          data-testid="search-messages"
          className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-200/70 dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          <IconSearch size={18} />
        </button>
        <button
          type="button"
          onClick={onBrowse}
          aria-label="Browse rooms"
          title="Browse public rooms"
          data-testid="browse-rooms"
          className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-200/70 dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          <IconCompass size={18} />
        </button>
        <button
          type="button"
          onClick={() => onNew('group')}
          aria-label="New group"
          data-testid="new-group"
          title="New group"
          className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-200/70 dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          <IconUsers size={18} />
        </button>
        <button
          type="button"
          onClick={() => onNew('direct')}
          aria-label="New message"
          title="New message"
          data-testid="new-dm"
          className="rounded-lg bg-zinc-900 p-2 text-white hover:bg-zinc-700 dark:bg-zinc-100 dark:text-zinc-900 dark:hover:bg-white"
        >
          <IconPlus size={18} />
        </button>
      </div>
      <div className="flex gap-1 px-4 pb-2" role="group" aria-label="Filter conversations">
        {filterBtn('all', 'All')}
        {filterBtn('direct', 'Direct')}
        {filterBtn('group', 'Groups')}
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto px-2 pb-2">
        {!loaded && order.length === 0 ? (
          <ul aria-hidden="true" className="space-y-1 px-1 pt-1">
            {[0, 1, 2, 3].map((i) => (
              <li key={i} className="flex animate-pulse items-center gap-3 px-2 py-2">
                <span className="h-9 w-9 rounded-full bg-zinc-200 dark:bg-zinc-800" />
                <span className="flex-1 space-y-2">
                  <span className="block h-3 w-1/2 rounded bg-zinc-200 dark:bg-zinc-800" />
                  <span className="block h-2.5 w-3/4 rounded bg-zinc-200 dark:bg-zinc-800" />
                </span>
              </li>
            ))}
          </ul>
        ) : ids.length === 0 ? (
          <div className="px-4 py-10 text-center">
            <p className="text-sm font-medium">No conversations yet</p>
            <p className="mt-1 text-[13px] text-zinc-500 dark:text-zinc-400">Start one with someone you know.</p>
            <button
              type="button"
              onClick={() => onNew('direct')}
              className="mt-4 inline-flex items-center gap-1.5 rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500"
            >
              <IconPlus size={16} /> New message
            </button>
          </div>
        ) : (
          <ul className="space-y-0.5" aria-label="Conversation list">
            {ids.map((id) => {
              const room = rooms[id];
              if (!room) return null;
              const peer = directPeer(room, myId);
              const t = typing[id];
              return (
                <RoomItem
                  key={id}
                  room={room}
                  active={id === activeRoom}
                  myId={myId}
                  online={peer ? presence[peer.id] === 'online' : undefined}
                  typing={!!t && activeTyping(t, nowMs).length > 0}
                  now={now}
                  onOpen={onOpen}
                />
              );
            })}
          </ul>
        )}
      </div>
      <div className="border-t border-zinc-200 px-2 py-2 dark:border-zinc-800">
        {me && (
          <div className="flex items-center gap-3 rounded-lg px-2.5 py-2">
            <Avatar user={me} size="sm" online />
            <span className="min-w-0 flex-1">
              <span className="block truncate text-sm font-medium" data-testid="me-name">
                {me.display_name || me.username}
              </span>
              <span className="block truncate text-xs text-zinc-500 dark:text-zinc-400">@{me.username}</span>
            </span>
            <button
              type="button"
              onClick={openSettings}
              aria-label="Settings"
              title="Settings"
              className="rounded-lg p-2 text-zinc-500 dark:text-zinc-400 hover:bg-zinc-200/70 hover:text-zinc-800 dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
            >
              <IconSliders size={16} />
            </button>
            <button
              type="button"
              onClick={() => void store.signOut()}
              aria-label="Sign out"
              title="Sign out"
              className="rounded-lg p-2 text-zinc-500 dark:text-zinc-400 hover:bg-zinc-200/70 hover:text-zinc-800 dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
            >
              <IconLogOut size={16} />
            </button>
          </div>
        )}
      </div>
    </nav>
  );
}
