import { isAdminPath } from '../admin/route';
import { AuthScreen } from './AuthScreen';
import { ChatLayout } from './ChatLayout';
import { lazy, Suspense, useSyncExternalStore } from 'react';
import { SessionContext, useChat, useOnSettings, useStore } from './hooks';
import { SettingsPage } from './SettingsPage';

const AdminApp = lazy(() => import('../admin/AdminApp').then((m) => ({ default: m.AdminApp })));

export function App() {
  const store = useStore();
  const phase = useChat((s) => s.phase);
  const session = useSyncExternalStore(store.subscribe, () => store.session);
  const retrying = useChat((s) => s.conn.attempt > 0);
  const onSettings = useOnSettings();
  if (phase === 'booting') {
    return (
      <div className="flex h-full flex-col items-center justify-center gap-4" role="status" aria-label="Loading Parley">
        <span className="h-6 w-6 animate-spin rounded-full border-2 border-zinc-300 border-t-indigo-600" />
        {retrying && <p className="text-sm text-zinc-500 dark:text-zinc-400">Cannot reach the server. Retrying…</p>}
      </div>
    );
  }
  if (phase === 'signedOut' || !session) return <AuthScreen />;
  // Keyed by session: a new sign-in mounts the chat afresh, with nothing of the last user's.
  return (
    <SessionContext key={session.id} value={session}>
      {isAdminPath(window.location.pathname) ? (
        <Suspense fallback={<p role="status">Loading the admin pages…</p>}>
          <AdminApp />
        </Suspense>
      ) : onSettings ? (
        <SettingsPage />
      ) : (
        <ChatLayout />
      )}
    </SessionContext>
  );
}
