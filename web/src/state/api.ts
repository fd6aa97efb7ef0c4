import { searchPath, type SearchQuery } from './search';
import type {
  Attachment,
  AuthResponse,
  DirectoryPage,
  EntriesPage,
  ErrorBody,
  ErrorCode,
  Message,
  MessagePage,
  ReadMarkers,
  Profile,
  Room,
  SearchPage,
  Settings,
  User,
} from './types';
import type { Provider, SignInMethods } from './oauth';
import type { RefreshOutcome, TokenManager } from './tokens';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** The server's error code, or `http_STATUS` when the response carried none (a proxy's page). */
export type ApiErrorCode = ErrorCode | `http_${number}`;

/** An HTTP error with the API's `{"error": {"code", "message"}}` body decoded. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  constructor(status: number, code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Network failure (no HTTP response at all). */
export class NetworkError extends Error {
  constructor(message = 'network error') {
    super(message);
    this.name = 'NetworkError';
  }
}

async function decodeError(res: Response): Promise<ApiError> {
  let code: ApiErrorCode = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as Partial<ErrorBody> | null;
    if (body && typeof body.error === 'object' && body.error) {
      if (typeof body.error.code === 'string') code = body.error.code;
      if (typeof body.error.message === 'string') message = body.error.message;
    }
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message);
}

async function doFetch(fetchFn: FetchLike, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchFn(url, init);
  } catch (e) {
    throw new NetworkError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Asks the server to keep the refresh token in its HttpOnly cookie, never in a
 * response body. A cross-origin page cannot send this header (no CORS), which
 * is what lets the server trust the cookie on refresh and logout (CSRF).
 */
const COOKIE_SESSION = { 'X-Parley-Session': 'cookie' } as const;

async function postSession(fetchFn: FetchLike, url: string, body: unknown): Promise<Response> {
  return doFetch(fetchFn, url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...COOKIE_SESSION },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
}

/**
 * POST /api/auth/refresh, shaped for TokenManager: the cookie carries the
 * refresh token; `storedToken` is a pre-cookie session's, moved into the cookie.
 */
export function makeRefreshRequest(fetchFn: FetchLike, baseUrl = '') {
  return async (storedToken?: string): Promise<RefreshOutcome> => {
    const body = storedToken === undefined ? {} : { refresh_token: storedToken };
    const res = await postSession(fetchFn, `${baseUrl}/api/auth/refresh`, body);
    if (res.status === 401 || res.status === 403) return { kind: 'unauthorized' };
    if (!res.ok) throw await decodeError(res);
    return { kind: 'ok', auth: (await res.json()) as AuthResponse };
  };
}

/** POST /api/auth/logout: revokes the cookie's session and clears the cookie. */
export function makeLogoutRequest(fetchFn: FetchLike, baseUrl = '') {
  return async (): Promise<void> => {
    const res = await postSession(fetchFn, `${baseUrl}/api/auth/logout`, {});
    if (!res.ok) throw await decodeError(res);
  };
}

/** `PATCH /api/rooms/{id}`: the fields to change; a missing one stays as it is. */
export interface RoomChange {
  name?: string;
  topic?: string;
  public?: boolean;
}

export interface HistoryQuery {
  before?: number;
  after?: number;
  /** Messages centred on this seq (a jump to a message far from the window). */
  around?: number;
  limit?: number;
}

export class ApiClient {
  private readonly fetchFn: FetchLike;
  private readonly tokens: TokenManager;
  private readonly baseUrl: string;

  constructor(options: { fetch: FetchLike; tokens: TokenManager; baseUrl?: string }) {
    this.fetchFn = options.fetch;
    this.tokens = options.tokens;
    this.baseUrl = options.baseUrl ?? '';
  }

  /** Authenticated JSON request; on 401 refreshes once and retries once. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let token = await this.tokens.getAccessToken();
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
      const init: RequestInit = { method, headers };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      const res = await doFetch(this.fetchFn, this.baseUrl + path, init);
      if (res.status === 401 && attempt === 0) {
        // Throws SessionExpiredError when the refresh itself is rejected.
        token = await this.tokens.refresh(token);
        continue;
      }
      if (!res.ok) throw await decodeError(res);
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }

  /**
   * Upload a file to a room with its progress (0–1): XMLHttpRequest, since fetch
   * reports no upload progress. Resolves with the Attachment to send with a message.
   */
  async uploadFile(
    roomId: string,
    file: Blob,
    name: string,
    onProgress: (fraction: number) => void,
    signal?: AbortSignal,
  ): Promise<Attachment> {
    const token = await this.tokens.getAccessToken();
    const url = `${this.baseUrl}/api/rooms/${encodeURIComponent(roomId)}/files?name=${encodeURIComponent(name)}`;
    return new Promise<Attachment>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          /* not JSON */
        }
        if (xhr.status === 201) return resolve(body as Attachment);
        const error = (body as Partial<ErrorBody> | null)?.error;
        reject(new ApiError(xhr.status, error?.code ?? `http_${xhr.status}`, error?.message ?? `HTTP ${xhr.status}`));
      };
      xhr.onerror = () => reject(new NetworkError('upload failed'));
      xhr.onabort = () => reject(new NetworkError('upload cancelled'));
      signal?.addEventListener('abort', () => xhr.abort());
      xhr.send(file);
    });
  }

  /** A file's bytes (files need the bearer token, so an <img> cannot load them by URL). */
  async fileBlob(path: string): Promise<Blob> {
    let token = await this.tokens.getAccessToken();
    for (let attempt = 0; ; attempt++) {
      const res = await doFetch(this.fetchFn, this.baseUrl + path, { headers: { Authorization: `Bearer ${token}` } });
      if (res.status === 401 && attempt === 0) {
        token = await this.tokens.refresh(token);
        continue;
      }
      if (!res.ok) throw await decodeError(res);
      return res.blob();
    }
  }

  async setAvatar(file: Blob): Promise<string> {
    let token = await this.tokens.getAccessToken();
    for (let attempt = 0; ; attempt++) {
      const res = await doFetch(this.fetchFn, `${this.baseUrl}/api/me/avatar`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
        body: file,
      });
      if (res.status === 401 && attempt === 0) {
        token = await this.tokens.refresh(token);
        continue;
      }
      if (!res.ok) throw await decodeError(res);
      return ((await res.json()) as { avatar: string }).avatar;
    }
  }

  async removeAvatar(): Promise<void> {
    await this.request<void>('DELETE', '/api/me/avatar');
  }

  private async startSession(path: string, body: unknown): Promise<AuthResponse> {
    const res = await postSession(this.fetchFn, this.baseUrl + path, body);
    if (!res.ok) throw await decodeError(res);
    return (await res.json()) as AuthResponse;
  }

  register(username: string, password: string, displayName?: string): Promise<AuthResponse> {
    const body: Record<string, string> = { username, password };
    if (displayName) body.display_name = displayName;
    return this.startSession('/api/auth/register', body);
  }

  login(username: string, password: string): Promise<AuthResponse> {
    return this.startSession('/api/auth/login', { username, password });
  }

  me(): Promise<User> {
    return this.request('GET', '/api/me');
  }

  /** The sign-in providers the server offers; no session needed. */
  async providers(): Promise<Provider[]> {
    const res = await doFetch(this.fetchFn, `${this.baseUrl}/api/auth/providers`, {});
    if (!res.ok) throw await decodeError(res);
    return ((await res.json()) as { providers: Provider[] }).providers;
  }

  /** A new display name; everyone who shares a room hears `user_updated`. */
  updateMe(displayName: string): Promise<User> {
    return this.request('PATCH', '/api/me', { display_name: displayName });
  }

  /** Someone who shares a room with me (or me): online, or when they were last seen. */
  profile(userId: string): Promise<Profile> {
    return this.request('GET', `/api/users/${encodeURIComponent(userId)}`);
  }

  settings(): Promise<Settings> {
    return this.request('GET', '/api/me/settings');
  }

  saveSettings(settings: Settings): Promise<Settings> {
    return this.request('PUT', '/api/me/settings', settings);
  }

  signInMethods(): Promise<SignInMethods> {
    return this.request('GET', '/api/me/identities');
  }

  /** Start linking a provider's account: the URL to send the browser to (the flow cookie is set). */
  async startLink(provider: string, next: string): Promise<string> {
    const r = await this.request<{ url: string }>(
      'POST',
      `/api/auth/oauth/${encodeURIComponent(provider)}/link`,
      { next },
    );
    return r.url;
  }

  async unlinkIdentity(id: string): Promise<void> {
    await this.request('DELETE', `/api/me/identities/${encodeURIComponent(id)}`);
  }

  /** Set a password; changing an existing one takes the current one. */
  async setPassword(password: string, current?: string): Promise<void> {
    const body: Record<string, string> = { password };
    if (current !== undefined) body.current_password = current;
    await this.request('POST', '/api/me/password', body);
  }

  async searchUsers(prefix: string): Promise<User[]> {
    const r = await this.request<{ users: User[] }>(
      'GET',
      `/api/users?q=${encodeURIComponent(prefix)}`,
    );
    return r.users;
  }

  search(query: SearchQuery): Promise<SearchPage> {
    return this.request('GET', searchPath(query));
  }

  async listRooms(): Promise<Room[]> {
    const r = await this.request<{ rooms: Room[] }>('GET', '/api/rooms');
    return r.rooms;
  }

  getRoom(id: string): Promise<Room> {
    return this.request('GET', `/api/rooms/${encodeURIComponent(id)}`);
  }

  createGroup(name: string, members: string[], isPublic = false): Promise<Room> {
    return this.request('POST', '/api/rooms', { kind: 'group', name, members, public: isPublic });
  }

  createDirect(username: string): Promise<Room> {
    return this.request('POST', '/api/rooms', { kind: 'direct', members: [username] });
  }

  async addMember(roomId: string, username: string): Promise<Room | undefined> {
    return this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/members`, {
      username,
    });
  }

  /** Rename, set the topic or the visibility (owners and admins; "" clears the topic). */
  updateRoom(roomId: string, change: RoomChange): Promise<Room> {
    return this.request('PATCH', `/api/rooms/${encodeURIComponent(roomId)}`, change);
  }

  setRole(roomId: string, userId: string, role: 'admin' | 'member'): Promise<Room> {
    return this.request(
      'PUT',
      `/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(userId)}/role`,
      { role },
    );
  }

  transferOwnership(roomId: string, userId: string): Promise<Room> {
    return this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/owner`, { user: userId });
  }

  async removeMember(roomId: string, userId: string): Promise<void> {
    await this.request(
      'DELETE',
      `/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(userId)}`,
    );
  }

  joinRoom(roomId: string): Promise<Room> {
    return this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/join`);
  }

  async hideRoom(roomId: string): Promise<void> {
    await this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/hide`);
  }

  /** Public groups whose name or topic contains `q`; `cursor` is the previous page's next_cursor. */
  directory(q: string, cursor: string | null): Promise<DirectoryPage> {
    const params = new URLSearchParams({ q });
    if (cursor) params.set('cursor', cursor);
    return this.request('GET', `/api/rooms/directory?${params}`);
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.request('DELETE', `/api/rooms/${encodeURIComponent(roomId)}/members/me`);
  }

  history(roomId: string, query: HistoryQuery = {}): Promise<MessagePage> {
    const params = new URLSearchParams();
    if (query.before !== undefined) params.set('before', String(query.before));
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.around !== undefined) params.set('around', String(query.around));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const qs = params.toString();
    return this.request(
      'GET',
      `/api/rooms/${encodeURIComponent(roomId)}/messages${qs ? `?${qs}` : ''}`,
    );
  }

  /** Who has read the room up to `seq` ("seen by"): others' markers are not pushed in groups. */
  reads(roomId: string, seq: number): Promise<ReadMarkers> {
    const qs = new URLSearchParams({ seq: String(seq) });
    return this.request('GET', `/api/rooms/${encodeURIComponent(roomId)}/reads?${qs}`);
  }

  /** The stream's entries (messages and room events) after a seq, for closing a gap. */
  entries(roomId: string, after: number, limit: number): Promise<EntriesPage> {
    const qs = new URLSearchParams({ after: String(after), limit: String(limit) });
    return this.request('GET', `/api/rooms/${encodeURIComponent(roomId)}/events?${qs}`);
  }

  postMessage(roomId: string, body: string, clientId?: string): Promise<Message> {
    return this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/messages`, {
      body,
      client_id: clientId,
    });
  }
}
