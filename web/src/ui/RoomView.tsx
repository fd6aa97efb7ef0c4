import { LastSeen } from './LastSeen';
import { directPeer, roomTitle } from '../state/rooms';
import { PRESENCE_PUSH_MAX_MEMBERS } from '../state/slices/presence';
import { activeTyping, typingLabel } from '../state/typing';
import { Avatar } from './Avatar';
import { runsGroup } from './RoomSettings';
import { Composer } from './Composer';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Message } from '../state/types';
import { MessageList } from './MessageList';
import { RoomActionsContext, type RoomActions } from './MessageActions';
import { useChat, useNow, useRouteTarget, useSession } from './hooks';
import { IconBack, IconMore, IconUserPlus } from './icons';

function TypingLine({ roomId }: { roomId: string }) {
  const list = useChat((s) => s.typing[roomId]);
  const now = useNow(1000); // re-evaluate expiry
  const users = list ? activeTyping(list, now.getTime()).map((e) => e.user) : [];
  const label = typingLabel(users);
  return (
    <div className="h-5 px-5 text-xs text-zinc-500 md:px-7 dark:text-zinc-400" aria-live="polite" data-testid="typing">
      {label && (
        <span className="inline-flex items-center gap-1.5">
          <span className="typing-dots inline-flex gap-0.5" aria-hidden="true">
            <span className="h-1 w-1 rounded-full bg-current" />
            <span className="h-1 w-1 rounded-full bg-current" />
            <span className="h-1 w-1 rounded-full bg-current" />
          </span>
          {label}
        </span>
      )}
    </div>
  );
}

export function RoomView({
  roomId,
  onBack,
  onDetails,
  onAdd,
}: {
  roomId: string;
  onBack: () => void;
  onDetails: () => void;
  onAdd: () => void;
}) {
  const chat = useSession();
  const room = useChat((s) => s.rooms[roomId]);
  const me = useChat((s) => s.me);
  const presence = useChat((s) => s.presence);
  const loaded = useChat((s) => s.timelines[roomId]?.loaded === true);
  const muted = useChat((s) => s.roomLevels[roomId] === 'nothing');
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [highlight, setHighlight] = useState<{ seq: number; at: number } | null>(null);
  const jumpTo = useCallback(
    (seq: number) => {
      void chat.timeline.reveal(roomId, seq).then((found) => {
        if (found) setHighlight({ seq, at: Date.now() });
        else chat.toast('That message is not in this conversation any more.');
      });
    },
    [chat, roomId],
  );
  const actions = useMemo<RoomActions>(
    () => ({ roomId, replyTo, setReplyTo, editing, setEditing, jumpTo }),
    [roomId, replyTo, editing, jumpTo],
  );
  // A room too big for pushed presence: follow its members' while it is open.
  const members = room?.kind === 'group' ? room.members : null;
  useEffect(() => {
    if (!members || members.length <= PRESENCE_PUSH_MAX_MEMBERS) return;
    chat.presence.watch(members.map((m) => m.id).filter((id) => id !== chat.myId));
    return () => chat.presence.watch([]);
  }, [chat, members]);
  // Opened by a link to a message: go to it once the room has loaded.
  const target = useRouteTarget();
  useEffect(() => {
    if (target !== null && loaded) jumpTo(target);
  }, [target, loaded, jumpTo]);
  if (!room) {
    return (
      <div className="flex h-full items-center justify-center text-sm text-zinc-500 dark:text-zinc-400">Loading conversation…</div>
    );
  }
  const myId = me?.id ?? null;
  const title = roomTitle(room, myId);
  const peer = directPeer(room, myId);
  const onlineCount = room.members.filter((m) => m.id === myId || presence[m.id] === 'online').length;
  const subtitle = peer ? (
    <span data-testid="peer-status" className="first-letter:uppercase inline-block">
      <LastSeen userId={peer.id} online={presence[peer.id] === 'online'} />
    </span>
  ) : (
    `${room.members.length} members${onlineCount > 0 ? ` · ${onlineCount} online` : ''}${room.topic ? ` · ${room.topic}` : ''}`
  );

  return (
    <section aria-label={`Conversation: ${title}`} className="flex h-full min-h-0 flex-col">
      <header className="flex h-16 shrink-0 items-center gap-3 border-b border-zinc-200 px-3 md:px-6 dark:border-zinc-800">
        <button
          type="button"
          onClick={onBack}
          aria-label="Back to conversations"
          className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-100 md:hidden dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          <IconBack size={20} />
        </button>
        <button
          type="button"
          onClick={onDetails}
          className="flex min-w-0 flex-1 items-center gap-3 rounded-lg py-1 text-left"
          data-testid="room-header"
        >
          {peer ? (
            <Avatar user={peer} online={presence[peer.id] === 'online'} />
          ) : (
            <Avatar user={{ id: room.id, display_name: title, username: title }} group />
          )}
          <span className="min-w-0">
            <h1 className="truncate text-[15px] font-semibold" data-testid="room-title">
              {title}
            </h1>
            <p className="truncate text-xs text-zinc-500 dark:text-zinc-400">
              {peer && presence[peer.id] === 'online' && (
                <span className="mr-1 inline-block h-1.5 w-1.5 rounded-full bg-emerald-500 align-middle" aria-hidden="true" />
              )}
              {subtitle}
              <span className="sr-only">, details</span>
            </p>
          </span>
        </button>
        <button
          type="button"
          aria-pressed={muted}
          onClick={() =>
            void chat.notifications
              .setLevel(roomId, muted ? 'all' : 'nothing')
              .catch(() => chat.toast('That could not be done right now; try again.'))
          }
          title={muted ? 'Muted: no notifications, no unread count in the title' : 'Mute this conversation'}
          data-testid="room-mute"
          className="rounded-lg px-2 py-1.5 text-sm text-zinc-600 hover:bg-zinc-100 aria-pressed:bg-zinc-200 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:aria-pressed:bg-zinc-800"
        >
          Mute
        </button>
        {runsGroup(room, myId) && (
          <button
            type="button"
            onClick={onAdd}
            aria-label="Add people"
            title="Add people"
            className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
          >
            <IconUserPlus size={18} />
          </button>
        )}
        <button
          type="button"
          onClick={onDetails}
          aria-label="Conversation details"
          title="Details"
          className="rounded-lg p-2 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          <IconMore size={18} />
        </button>
      </header>
      <RoomActionsContext value={actions}>
        <MessageList key={roomId} roomId={roomId} highlight={highlight} />
        <TypingLine roomId={roomId} />
        <Composer key={roomId} roomId={roomId} placeholder={`Message ${peer ? title : `#${title}`}`} />
      </RoomActionsContext>
    </section>
  );
}

export function EmptyRoom({ onNew }: { onNew: () => void }) {
  return (
    <div className="flex h-full flex-col items-center justify-center px-6 text-center">
      <div className="mb-4 rounded-2xl bg-zinc-100 p-4 text-zinc-500 dark:text-zinc-400 dark:bg-zinc-900">
        <svg width="40" height="40" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
          <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" />
        </svg>
      </div>
      <h2 className="text-base font-semibold">Pick a conversation</h2>
      <p className="mt-1 max-w-xs text-sm text-zinc-500 dark:text-zinc-400">Choose one on the left, or start something new.</p>
      <button
        type="button"
        onClick={onNew}
        className="mt-5 rounded-lg bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500"
      >
        New message
      </button>
    </div>
  );
}
