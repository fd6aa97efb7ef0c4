import { useEffect, useState } from 'react';
import { useChat, useNow } from './hooks';
import { IconWifiOff } from './icons';

/** Offline / reconnecting banner; stays quiet during a quick first connect. */
export function ConnectionBanner() {
  const conn = useChat((s) => s.conn);
  const [graceOver, setGraceOver] = useState(false);
  useEffect(() => {
    const t = setTimeout(() => setGraceOver(true), 1500);
    return () => clearTimeout(t);
  }, []);
  const now = useNow(1000); // the retry countdown

  let text: string | null = null;
  let tone: 'warn' | 'off' = 'warn';
  if (conn.status === 'offline') {
    text = 'You are offline. Messages will be sent when the connection is back.';
    tone = 'off';
  } else if (conn.status === 'reconnecting' || (conn.status === 'connecting' && graceOver)) {
    const secs = conn.retryAt ? Math.max(0, Math.ceil((conn.retryAt - now.getTime()) / 1000)) : 0;
    text = conn.everOnline || conn.status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
    if (secs > 1) text = `Connection lost. Retrying in ${secs}s…`;
  }
  return (
    <div aria-live="polite" role="status" data-testid="connection-banner" data-status={conn.status}>
      {text && (
        <div
          className={`flex items-center justify-center gap-2 px-4 py-1.5 text-center text-[13px] font-medium ${
            tone === 'off'
              ? 'bg-zinc-800 text-zinc-100 dark:bg-zinc-200 dark:text-zinc-900'
              : 'bg-amber-100 text-amber-900 dark:bg-amber-500/15 dark:text-amber-200'
          }`}
        >
          {tone === 'off' ? (
            <IconWifiOff size={15} />
          ) : (
            <span className="h-2 w-2 animate-pulse rounded-full bg-amber-500" aria-hidden="true" />
          )}
          {text}
        </div>
      )}
    </div>
  );
}
