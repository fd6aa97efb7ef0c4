import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { api } from '../app';
import { ApiError } from '../state/api';
import { adminApi, pushPoint, type Account, type AuditEntry, type Overview, type RoomStats } from './api';
import { LiveChart } from './LiveChart';

const admin = adminApi(api);

const PAGES = [
  { path: '/admin', label: 'Overview' },
  { path: '/admin/users', label: 'Users' },
  { path: '/admin/rooms', label: 'Rooms' },
  { path: '/admin/audit', label: 'Audit log' },
] as const;

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

function go(path: string): void {
  window.history.pushState(null, '', path);
  listeners.forEach((l) => l());
}

function usePath(): string {
  return useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => window.location.pathname.replace(/\/$/, '') || '/',
  );
}

const button =
  'rounded-lg border border-zinc-300 px-3 py-1.5 text-sm font-medium hover:bg-zinc-100 focus-visible:outline-2 focus-visible:outline-indigo-600 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800';
const cell = 'border-b border-zinc-200 px-3 py-2 text-left dark:border-zinc-800';

/** One row per process: its name heads the row, then its figures in `headers`' order. */
function FiguresTable({
  caption,
  headers,
  rows,
}: {
  caption: string;
  headers: string[];
  rows: [string, ...(string | number)[]][];
}) {
  return (
    <table className="w-full text-sm">
      <caption className="mb-2 text-left font-semibold">{caption}</caption>
      <thead>
        <tr>
          {headers.map((h) => (
            <th key={h} scope="col" className={cell}>
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, ...figures]) => (
          <tr key={name}>
            <th scope="row" className={cell}>
              {name}
            </th>
            {figures.map((figure, i) => (
              <td key={headers[i + 1]} className={cell}>
                {figure}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function AdminApp() {
  const path = usePath();
  const [denied, setDenied] = useState(false);
  const onError = useCallback((e: unknown) => {
    if (e instanceof ApiError && e.status === 403) setDenied(true);
  }, []);
  const page = PAGES.find((p) => p.path === path) ?? PAGES[0];
  return (
    <div className="flex min-h-full flex-col">
      <header className="flex flex-wrap items-center gap-4 border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
        <h1 className="text-lg font-semibold">Parley admin</h1>
        <nav aria-label="Admin pages">
          <ul className="flex flex-wrap gap-1">
            {PAGES.map((p) => (
              <li key={p.path}>
                <a
                  href={p.path}
                  aria-current={p === page ? 'page' : undefined}
                  className="rounded-lg px-3 py-1.5 text-sm font-medium hover:bg-zinc-100 aria-[current=page]:bg-indigo-100 aria-[current=page]:text-indigo-900 dark:hover:bg-zinc-800 dark:aria-[current=page]:bg-indigo-900 dark:aria-[current=page]:text-indigo-100"
                  onClick={(e) => {
                    e.preventDefault();
                    go(p.path);
                  }}
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <a href="/" className="ml-auto text-sm underline">
          Back to chat
        </a>
      </header>
      <main className="flex-1 p-4">
        {denied ? (
          <p role="alert">This needs an admin account.</p>
        ) : (
          <>
            <h2 className="mb-4 text-xl font-semibold">{page.label}</h2>
            {page.path === '/admin' && <OverviewPage onError={onError} />}
            {page.path === '/admin/users' && <UsersPage onError={onError} />}
            {page.path === '/admin/rooms' && <RoomsPage onError={onError} />}
            {page.path === '/admin/audit' && <AuditPage onError={onError} />}
          </>
        )}
      </main>
    </div>
  );
}

type PageProps = { onError: (e: unknown) => void };

interface Point {
  time: string;
  overview: Overview;
}

function OverviewPage({ onError }: PageProps) {
  const [points, setPoints] = useState<Point[]>([]);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      let interval = 2;
      try {
        const overview = await admin.overview();
        interval = overview.interval_seconds;
        if (!stopped) setPoints((s) => pushPoint(s, { time: new Date().toLocaleTimeString(), overview }));
      } catch (e) {
        onError(e);
      }
      if (!stopped) timer = setTimeout(() => void poll(), interval * 1000);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [onError]);
  const labels = useMemo(() => points.map((p) => p.time), [points]);
  const rate = useMemo(
    () => [{ label: 'messages/s', values: points.map((p) => p.overview.totals.messages_per_second), color: '#4f46e5' }],
    [points],
  );
  const connections = useMemo(
    () => [{ label: 'connections', values: points.map((p) => p.overview.totals.connections), color: '#0f766e' }],
    [points],
  );
  const latency = useMemo(
    () =>
      (['p50', 'p95', 'p99'] as const).map((k, i) => ({
        label: `${k} ms`,
        values: points.map((p) => {
          const found = p.overview.gateways.map((g) => g.ack_ms[k]).filter((v): v is number => v !== null);
          return found.length ? Math.max(...found) : null;
        }),
        color: ['#4f46e5', '#b45309', '#be123c'][i]!,
      })),
    [points],
  );
  const lag = useMemo(
    () => [
      { label: 'records behind', values: points.map((p) => p.overview.totals.persister_lag), color: '#b45309' },
      { label: 'dead letters', values: points.map((p) => p.overview.totals.dead_letters), color: '#be123c' },
    ],
    [points],
  );
  const notifyLag = useMemo(
    () => [{ label: 'messages behind', values: points.map((p) => p.overview.totals.notify_lag), color: '#7c3aed' }],
    [points],
  );
  const latest = points.at(-1)?.overview;
  return (
    <div className="flex flex-col gap-4">
      <div className="grid gap-4 lg:grid-cols-3">
        <LiveChart title="Messages per second" labels={labels} series={rate} />
        <LiveChart title="Connections" labels={labels} series={connections} />
        <LiveChart title="Send to ack latency" labels={labels} series={latency} />
        {latest && latest.persisters.length > 0 && (
          <LiveChart title="Persister lag and dead letters" labels={labels} series={lag} />
        )}
        {latest && latest.notifiers.length > 0 && (
          <LiveChart title="Notifications worker lag" labels={labels} series={notifyLag} />
        )}
      </div>
      <FiguresTable
        caption="Gateways"
        headers={['Gateway', 'Connections', 'Users', 'Messages/s', 'Stored', 'Send errors', 'p50 ms', 'p95 ms', 'p99 ms']}
        rows={(latest?.gateways ?? []).map((g) => [
          g.gateway,
          g.connections,
          g.users,
          g.messages_per_second,
          g.messages_stored,
          g.send_errors,
          g.ack_ms.p50 ?? '–',
          g.ack_ms.p95 ?? '–',
          g.ack_ms.p99 ?? '–',
        ])}
      />
      {latest && latest.persisters.length > 0 && (
        <FiguresTable
          caption="Persisters"
          headers={['Persister', 'Records behind Kafka', 'Dead letters', 'Store retries']}
          rows={latest.persisters.map((w) => [w.worker, w.lag, w.dead_letters, w.store_retries])}
        />
      )}
      {latest && latest.notifiers.length > 0 && (
        <FiguresTable
          caption="Notifications workers"
          headers={['Worker', 'Messages behind', 'Messages', 'Notifications', 'Retries']}
          rows={latest.notifiers.map((n) => [n.worker, n.lag, n.messages, n.notifications, n.retries])}
        />
      )}
    </div>
  );
}

function UsersPage({ onError }: PageProps) {
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<Account[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [status, setStatus] = useState('');
  const load = useCallback(
    (offset: number) =>
      admin.users(query, offset).then(
        (page) => {
          setUsers((u) => (offset === 0 ? page.users : [...u, ...page.users]));
          setNext(page.next_offset);
        },
        (e: unknown) => {
          onError(e);
          setStatus(errorText(e));
        },
      ),
    [query, onError],
  );
  useEffect(() => {
    void load(0);
  }, [load]);
  const act = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
      setStatus(what);
      await load(0);
    } catch (e) {
      onError(e);
      setStatus(errorText(e));
    }
  };
  return (
    <div className="flex flex-col gap-3">
      <label className="flex max-w-sm flex-col gap-1 text-sm font-medium">
        Search users
        <input
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          className="rounded-lg border border-zinc-300 bg-white px-3 py-1.5 dark:border-zinc-700 dark:bg-zinc-900"
        />
      </label>
      <p role="status" className="min-h-5 text-sm">
        {status}
      </p>
      <table className="w-full text-sm">
        <thead>
          <tr>
            {['Username', 'Name', 'Role', 'State', 'Actions'].map((h) => (
              <th key={h} scope="col" className={cell}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <th scope="row" className={cell}>
                {u.username}
              </th>
              <td className={cell}>{u.display_name}</td>
              <td className={cell}>{u.role}</td>
              <td className={cell}>{u.disabled ? 'Disabled' : 'Active'}</td>
              <td className={`${cell} flex flex-wrap gap-2`}>
                <button
                  type="button"
                  className={button}
                  aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}
                  onClick={() =>
                    void act(`${u.username} ${u.disabled ? 'enabled' : 'disabled'}`, () =>
                      admin.setDisabled(u.id, !u.disabled),
                    )
                  }
                >
                  {u.disabled ? 'Enable' : 'Disable'}
                </button>
                <button
                  type="button"
                  className={button}
                  aria-label={`Sign out everywhere: ${u.username}`}
                  onClick={() => void act(`${u.username} signed out everywhere`, () => admin.logoutAll(u.id))}
                >
                  Sign out everywhere
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" className={`${button} self-start`} onClick={() => void load(next)}>
          More users
        </button>
      )}
    </div>
  );
}

function RoomsPage({ onError }: PageProps) {
  const [rooms, setRooms] = useState<RoomStats[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [status, setStatus] = useState('');
  const load = useCallback(
    (offset: number) =>
      admin.rooms(offset).then((page) => {
        setRooms((r) => (offset === 0 ? page.rooms : [...r, ...page.rooms]));
        setNext(page.next_offset);
      }, onError),
    [onError],
  );
  useEffect(() => {
    void load(0);
  }, [load]);
  const remove = async (room: RoomStats, form: HTMLFormElement) => {
    const seq = Number(new FormData(form).get('seq'));
    try {
      await admin.deleteMessage(room.id, seq);
      setStatus(`Message ${seq} of ${room.name ?? room.id} deleted`);
      form.reset();
      await load(0);
    } catch (e) {
      onError(e);
      setStatus(errorText(e));
    }
  };
  return (
    <div className="flex flex-col gap-3">
      <p role="status" className="min-h-5 text-sm">
        {status}
      </p>
      <table className="w-full text-sm">
        <thead>
          <tr>
            {['Room', 'Kind', 'Members', 'Messages', 'Last activity', 'Moderation'].map((h) => (
              <th key={h} scope="col" className={cell}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rooms.map((r) => (
            <tr key={r.id}>
              <th scope="row" className={cell}>
                {r.name ?? `Direct ${r.id}`}
              </th>
              <td className={cell}>{r.kind}</td>
              <td className={cell}>{r.members}</td>
              <td className={cell}>{r.messages}</td>
              <td className={cell}>{new Date(r.last_activity_at).toLocaleString()}</td>
              <td className={cell}>
                <form
                  className="flex gap-2"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void remove(r, e.currentTarget);
                  }}
                >
                  <label className="flex items-center gap-1">
                    <span>Message seq</span>
                    <input
                      name="seq"
                      type="number"
                      min={1}
                      max={r.last_seq}
                      required
                      className="w-20 rounded-lg border border-zinc-300 bg-white px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
                    />
                  </label>
                  <button type="submit" className={button} aria-label={`Delete the message in ${r.name ?? r.id}`}>
                    Delete
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" className={`${button} self-start`} onClick={() => void load(next)}>
          More rooms
        </button>
      )}
    </div>
  );
}

function AuditPage({ onError }: PageProps) {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const load = useCallback(
    (before: string | null) =>
      admin.audit(before).then((page) => {
        setEntries((e) => (before === null ? page.entries : [...e, ...page.entries]));
        setNext(page.next_before);
      }, onError),
    [onError],
  );
  useEffect(() => {
    void load(null);
  }, [load]);
  return (
    <div className="flex flex-col gap-3">
      <table className="w-full text-sm">
        <thead>
          <tr>
            {['When', 'Who', 'Action', 'Target', 'From'].map((h) => (
              <th key={h} scope="col" className={cell}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td className={cell}>{new Date(e.created_at).toLocaleString()}</td>
              <td className={cell}>{e.actor.username}</td>
              <td className={cell}>{e.action}</td>
              <td className={cell}>{e.target}</td>
              <td className={cell}>{e.client}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" className={`${button} self-start`} onClick={() => void load(next)}>
          Older entries
        </button>
      )}
    </div>
  );
}
