import type { ApiClient } from '../state/api';
import type { RoomEvent, User } from '../state/protocol.gen';

/** The admin API's shapes (docs/protocol.md, "Admin"). */
export interface GatewayFigures {
  gateway: string;
  connections: number;
  users: number;
  messages_per_second: number;
  messages_stored: number;
  send_errors: number;
  ack_ms: Record<'p50' | 'p95' | 'p99', number | null>;
  at: number;
}

export interface WorkerFigures {
  worker: string;
  lag: number;
  dead_letters: number;
  store_retries: number;
  at: number;
}

/** A notifications worker (`parley worker notify`, or the embedded in-process one). */
export interface NotifierFigures {
  worker: string;
  lag: number;
  messages: number;
  notifications: number;
  retries: number;
  at: number;
}

export interface Overview {
  gateways: GatewayFigures[];
  persisters: WorkerFigures[];
  notifiers: NotifierFigures[];
  totals: {
    gateways: number;
    connections: number;
    messages_per_second: number;
    send_errors: number;
    persister_lag: number;
    dead_letters: number;
    notify_lag: number;
  };
  interval_seconds: number;
}

export interface Account extends User {
  role: 'admin' | 'member';
  disabled: boolean;
  disabled_at: string | null;
  created_at: string;
}

export interface RoomStats {
  id: string;
  kind: 'group' | 'direct';
  name: string | null;
  members: number;
  messages: number;
  last_seq: number;
  last_activity_at: string;
}

export interface AuditEntry {
  id: string;
  actor: User;
  action: string;
  target: string;
  client: string;
  created_at: string;
}

const q = encodeURIComponent;

/** The admin routes, through the app's authenticated client (refresh on 401 included). */
export function adminApi(api: ApiClient) {
  return {
    overview: () => api.request<Overview>('GET', '/api/admin/overview'),
    users: (query: string, offset: number) =>
      api.request<{ users: Account[]; next_offset: number | null }>(
        'GET',
        `/api/admin/users?q=${q(query)}&offset=${offset}&limit=25`,
      ),
    setDisabled: (id: string, disabled: boolean) =>
      api.request<Account>('POST', `/api/admin/users/${q(id)}/${disabled ? 'disable' : 'enable'}`),
    logoutAll: (id: string) => api.request<void>('POST', `/api/admin/users/${q(id)}/logout-all`),
    rooms: (offset: number) =>
      api.request<{ rooms: RoomStats[]; next_offset: number | null }>(
        'GET',
        `/api/admin/rooms?offset=${offset}&limit=25`,
      ),
    deleteMessage: (room: string, seq: number) =>
      api.request<{ event: RoomEvent | null }>('DELETE', `/api/admin/rooms/${q(room)}/messages/${seq}`),
    audit: (before: string | null) =>
      api.request<{ entries: AuditEntry[]; next_before: string | null }>(
        'GET',
        `/api/admin/audit?limit=25${before ? `&before=${q(before)}` : ''}`,
      ),
  };
}

export type AdminApi = ReturnType<typeof adminApi>;

/** Keeps the last `size` points of a series: the overview's live charts. */
export function pushPoint<T>(series: readonly T[], point: T, size = 60): T[] {
  const next = [...series, point];
  return next.length > size ? next.slice(next.length - size) : next;
}
