import { useCallback, useEffect, useState } from 'react';
import { nav } from '../app';
import { renewPush } from '../state/push';
import { stepRoom } from '../state/search';
import { ConnectionBanner } from './ConnectionBanner';
import { AddMemberDialog, NewChatDialog, RoomDetailsDialog } from './dialogs';
import { DirectoryDialog } from './RoomSettings';
import { navigate, useChat, useRouteRoom, useSession } from './hooks';
import { IconX } from './icons';
import { QuickSwitcher, useNavigationKeys } from './QuickSwitcher';
import { EmptyRoom, RoomView } from './RoomView';
import { NotificationsPanel } from './NotificationsPanel';
import { SearchPanel } from './SearchPanel';
import { Sidebar } from './Sidebar';

type DialogState =
  | { kind: 'new'; mode: 'direct' | 'group' }
  | { kind: 'details' }
  | { kind: 'add' }
  | { kind: 'search' }
  | { kind: 'directory' }
  | { kind: 'switcher' }
  | { kind: 'notifications' }
  | null;

function Toast() {
  const chat = useSession();
  const notice = useChat((s) => s.notice);
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => chat.dismissNotice(), 6000);
    return () => clearTimeout(t);
  }, [chat, notice]);
  if (!notice) return null;
  return (
    <div className="pointer-events-none fixed inset-x-0 bottom-6 z-50 flex justify-center px-4">
      <div
        role="alert"
        className="pointer-events-auto flex max-w-md items-center gap-3 rounded-xl bg-zinc-900 px-4 py-2.5 text-sm text-white shadow-2xl dark:bg-zinc-100 dark:text-zinc-900"
      >
        <span className="flex-1">{notice.text}</span>
        <button type="button" onClick={() => chat.dismissNotice()} aria-label="Dismiss" className="rounded p-0.5 opacity-70 hover:opacity-100">
          <IconX size={14} />
        </button>
      </div>
    </div>
  );
}

export function ChatLayout() {
  const chat = useSession();
  const routeRoom = useRouteRoom();
  const roomsLoaded = useChat((s) => s.roomsLoaded);
  const roomExists = useChat((s) => (routeRoom ? !!s.rooms[routeRoom] : false));
  const activeRoom = useChat((s) => s.activeRoom);
  // A muted room (level "nothing") bumps no count in the tab title.
  const totalUnread = useChat((s) =>
    Object.values(s.rooms).reduce((n, r) => n + (s.roomLevels[r.id] === 'nothing' ? 0 : r.unread), 0),
  );
  const [dialog, setDialog] = useState<DialogState>(null);

  // This device's push subscription follows whoever turned it on here (state/push.ts).
  // Failing (offline, the server down) only leaves push off until the next sign-in.
  useEffect(() => {
    const me = chat.myId;
    if (me) renewPush(chat.deps.api, me).catch(() => undefined);
  }, [chat]);

  const open = useCallback((id: string | null) => navigate(id), []);
  const openSwitcher = useCallback(() => setDialog({ kind: 'switcher' }), []);
  const step = useCallback(
    (dir: 1 | -1, unreadOnly: boolean) => {
      const s = chat.state;
      const next = stepRoom(s.order, s.rooms, s.activeRoom, dir, unreadOnly);
      if (next) navigate(next);
    },
    [chat],
  );
  useNavigationKeys(openSwitcher, step);
  useEffect(() => {
    nav.open = (id) => navigate(id);
  }, []);

  // The URL is the source of truth for the open room; wait for the room list
  // so that an unknown or left room can fall back to the list.
  useEffect(() => {
    if (!roomsLoaded) return;
    if (routeRoom && !roomExists) {
      navigate(null, true);
      return;
    }
    if (chat.state.activeRoom !== routeRoom) chat.timeline.open(routeRoom);
  }, [chat, routeRoom, roomsLoaded, roomExists]);

  // Tell the server which room this tab shows, so it does not notify of what is being read.
  useEffect(() => {
    const shown = () => chat.notifications.focus(document.visibilityState === 'visible' ? activeRoom : null);
    shown();
    document.addEventListener('visibilitychange', shown);
    return () => document.removeEventListener('visibilitychange', shown);
  }, [chat, activeRoom]);
  // Off to the settings or admin pages: no room is shown any more.
  useEffect(() => () => chat.notifications.focus(null), [chat]);

  useEffect(() => {
    document.title = totalUnread > 0 ? `(${totalUnread}) Parley` : 'Parley';
  }, [totalUnread]);

  const current = activeRoom && activeRoom === routeRoom ? activeRoom : null;
  const room = useChat((s) => (current ? s.rooms[current] : undefined));

  return (
    <div className="flex h-full flex-col">
      <ConnectionBanner />
      <div className="flex min-h-0 flex-1">
        <aside
          className={`${routeRoom ? 'hidden md:flex' : 'flex'} w-full shrink-0 flex-col border-r border-zinc-200 md:w-80 lg:w-[22rem] dark:border-zinc-800`}
        >
          <Sidebar
            activeRoom={current}
            onOpen={open}
            onNew={(mode) => setDialog({ kind: 'new', mode })}
            onSearch={() => setDialog({ kind: 'search' })}
            onBrowse={() => setDialog({ kind: 'directory' })}
            onNotifications={() => setDialog({ kind: 'notifications' })}
          />
        </aside>
        <main className={`${routeRoom ? 'flex' : 'hidden md:flex'} min-w-0 flex-1 flex-col bg-white dark:bg-zinc-950`}>
          {current ? (
            <RoomView
              key={current}
              roomId={current}
              onBack={() => open(null)}
              onDetails={() => setDialog({ kind: 'details' })}
              onAdd={() => setDialog({ kind: 'add' })}
            />
          ) : routeRoom ? (
            <div className="flex h-full items-center justify-center text-sm text-zinc-500 dark:text-zinc-400">Loading conversation…</div>
          ) : (
            <EmptyRoom onNew={() => setDialog({ kind: 'new', mode: 'direct' })} />
          )}
        </main>
      </div>
      {dialog?.kind === 'new' && (
        <NewChatDialog
          initialMode={dialog.mode}
          onClose={() => setDialog(null)}
          onOpen={(id) => {
            setDialog(null);
            open(id);
          }}
        />
      )}
      {dialog?.kind === 'details' && room && (
        <RoomDetailsDialog
          room={room}
          onClose={() => setDialog(null)}
          onAdd={() => setDialog({ kind: 'add' })}
          onLeft={() => {
            setDialog(null);
            open(null);
          }}
        />
      )}
      {dialog?.kind === 'add' && room && <AddMemberDialog room={room} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'search' && <SearchPanel onClose={() => setDialog(null)} />}
      {dialog?.kind === 'directory' && (
        <DirectoryDialog
          onClose={() => setDialog(null)}
          onOpen={(id) => {
            setDialog(null);
            open(id);
          }}
        />
      )}
      {dialog?.kind === 'notifications' && <NotificationsPanel onClose={() => setDialog(null)} />}
      {dialog?.kind === 'switcher' && <QuickSwitcher onClose={() => setDialog(null)} onOpen={open} />}
      <Toast />
    </div>
  );
}
