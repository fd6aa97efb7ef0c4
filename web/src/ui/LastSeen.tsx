import { useEffect } from 'react';
import { lastSeenLabel } from '../state/format';
import { useChat, useNow, useSession } from './hooks';

/** "online", or "last seen 5 min ago" for someone offline (asked of the server once, then
 * kept fresh by presence events); plain "offline" while nothing is known. */
export function LastSeen({ userId, online }: { userId: string; online: boolean }) {
  const chat = useSession();
  const seen = useChat((s) => s.lastSeen[userId] ?? null);
  const now = useNow();
  useEffect(() => {
    if (!online && seen === null) void chat.profile.fetchLastSeen(userId);
  }, [chat, userId, online, seen]);
  if (online) return <>online</>;
  if (!seen) return <>offline</>;
  return <time dateTime={seen}>{lastSeenLabel(new Date(seen), now)}</time>;
}
