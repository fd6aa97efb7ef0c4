import { AuthScreen } from './AuthScreen';
import { ChatLayout } from './ChatLayout';
import { useChat } from './hooks';

export function App() {
  const phase = useChat((s) => s.phase);
  const retrying = useChat((s) => s.conn.attempt > 0);
  if (phase === 'booting') {
    return (
      <div className="flex h-full flex-col items-center justify-center gap-4" role="status" aria-label="Loading Parley">
        <span className="h-6 w-6 animate-spin rounded-full border-2 border-zinc-300 border-t-indigo-600" />
        {retrying && <p className="text-sm text-zinc-500">Cannot reach the server. Retrying…</p>}
      </div>
    );
  }
  if (phase === 'signedOut') return <AuthScreen />;
  return <ChatLayout />;
}
