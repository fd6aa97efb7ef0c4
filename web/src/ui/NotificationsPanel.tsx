import { shortStamp } from '../state/format';
import type { Notification } from '../state/types';
import { Dialog } from './Dialog';
import { openMessage, openSettings, useChat, useNow, useSession } from './hooks';
import { IconBell } from './icons';

/** The bell in the sidebar's header: the unread count as a badge, and the panel it opens. */
export function NotificationBell({ onOpen }: { onOpen: () => void }) {
  const unread = useChat((s) => s.notificationsUnread);
  const label = unread > 0 ? `Notifications, ${unread} unread` : 'Notifications';
  return (
    <button
      type="button"
      onClick={onOpen}
      aria-label={label}
      title="Notifications"
      data-testid="notifications-bell"
      className="relative rounded-lg p-2 text-zinc-600 hover:bg-zinc-200/70 dark:text-zinc-400 dark:hover:bg-zinc-800"
    >
      <IconBell size={18} />
      {unread > 0 && (
        <span
          aria-hidden="true"
          data-testid="notifications-badge"
          className="absolute -top-0.5 -right-0.5 min-w-[1.1rem] rounded-full bg-rose-600 px-1 text-center text-[11px] leading-[1.1rem] font-semibold text-white"
        >
          {unread > 99 ? '99+' : unread}
        </span>
      )}
    </button>
  );
}

function headline(n: Notification): string {
  const who = n.sender.display_name || n.sender.username;
  return n.reason === 'mention'
    ? `${who} mentioned you in ${n.room_name ? `#${n.room_name}` : 'a direct message'}`
    : `${who} sent you a message`;
}

/** The inbox: direct messages and mentions, newest first; each opens its message. */
export function NotificationsPanel({ onClose }: { onClose: () => void }) {
  const chat = useSession();
  const items = useChat((s) => s.notifications);
  const unread = useChat((s) => s.notificationsUnread);
  const more = useChat((s) => s.notificationsCursor !== null);
  const now = useNow();
  const fail = () => chat.toast('That could not be done right now; try again.');
  return (
    <Dialog title="Notifications" onClose={onClose} description={unread > 0 ? `${unread} unread` : 'All read'}>
      <div className="flex items-center gap-2 pb-2">
        <button
          type="button"
          disabled={unread === 0}
          onClick={() => void chat.notifications.markAllRead().catch(fail)}
          className="rounded-lg px-2 py-1 text-sm font-medium text-indigo-700 hover:bg-zinc-100 disabled:opacity-60 dark:text-indigo-300 dark:hover:bg-zinc-800"
        >
          Mark all read
        </button>
        <button
          type="button"
          onClick={() => {
            onClose();
            openSettings();
          }}
          className="ml-auto rounded-lg px-2 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
        >
          Notification settings
        </button>
      </div>
      {items.length === 0 ? (
        <p className="py-6 text-center text-sm text-zinc-600 dark:text-zinc-400">No notifications yet.</p>
      ) : (
        <ul aria-label="Notifications" className="max-h-80 space-y-1 overflow-y-auto" data-testid="notifications-list">
          {items.map((n) => (
            <li key={n.id} className="flex items-start gap-2">
              <a
                href={`/rooms/${encodeURIComponent(n.room)}/messages/${n.seq}`}
                onClick={(e) => {
                  if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                  e.preventDefault();
                  if (!n.read) void chat.notifications.markRead(n.id).catch(fail);
                  onClose();
                  openMessage(n.room, n.seq);
                }}
                className="block min-w-0 flex-1 rounded-lg px-2 py-2 hover:bg-zinc-100 focus-visible:bg-zinc-100 dark:hover:bg-zinc-800 dark:focus-visible:bg-zinc-800"
              >
                <span className="flex items-baseline gap-2 text-xs text-zinc-600 dark:text-zinc-400">
                  {!n.read && (
                    <span className="h-2 w-2 shrink-0 rounded-full bg-indigo-600" aria-label="Unread" role="img" />
                  )}
                  <span className="truncate font-medium text-zinc-800 dark:text-zinc-200">{headline(n)}</span>
                  <time dateTime={n.created_at} className="ml-auto shrink-0">
                    {shortStamp(new Date(n.created_at), now)}
                  </time>
                </span>
                <span className="mt-0.5 line-clamp-2 block text-sm break-words">{n.excerpt}</span>
              </a>
              {!n.read && (
                <button
                  type="button"
                  onClick={() => void chat.notifications.markRead(n.id).catch(fail)}
                  className="mt-2 shrink-0 rounded px-1.5 py-0.5 text-xs hover:bg-zinc-100 dark:hover:bg-zinc-800"
                  aria-label={`Mark read: ${headline(n)}`}
                >
                  Mark read
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {more && (
        <button
          type="button"
          onClick={() => void chat.notifications.more().catch(fail)}
          className="mt-2 w-full rounded-lg py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
        >
          Older notifications
        </button>
      )}
    </Dialog>
  );
}
