import { KeyValueTokenStore, type TokenStore } from './tokens';

/**
 * The refresh token in IndexedDB, mirrored to localStorage.
 *
 * Why not localStorage alone: refresh tokens rotate and a replayed one revokes
 * the session, so a tab must read the token the previous lock holder wrote.
 * Chromium propagates localStorage writes to other tabs' processes
 * asynchronously, so right after acquiring the lock a tab can still read the
 * rotated token. IndexedDB transactions are ordered by the browser: once the
 * writer's transaction completed (before it released the lock), a transaction
 * started later in any tab sees it. The localStorage copy gives a synchronous
 * "is there a session?" at start-up and `storage` events for the other tabs.
 */

const DB_NAME = 'parley';
const STORE = 'session';
const KEY = 'refresh_token';

export class IdbTokenStore implements TokenStore {
  private db: Promise<IDBDatabase> | null = null;

  constructor(private readonly mirror: KeyValueTokenStore) {}

  static available(): boolean {
    return typeof indexedDB !== 'undefined';
  }

  private open(): Promise<IDBDatabase> {
    if (!this.db) {
      this.db = new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = () => req.result.createObjectStore(STORE);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error ?? new Error('indexedDB open failed'));
        req.onblocked = () => reject(new Error('indexedDB blocked'));
      });
      this.db.catch(() => {
        this.db = null;
      });
    }
    return this.db;
  }

  private async run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.open();
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? new Error('indexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('indexedDB transaction aborted'));
    });
  }

  peek(): string | null {
    return this.mirror.peek();
  }

  async get(): Promise<string | null> {
    try {
      const v = await this.run('readonly', (s) => s.get(KEY) as IDBRequest<unknown>);
      if (typeof v === 'string') return v;
    } catch {
      /* fall back to the mirror */
    }
    // Nothing in IndexedDB: a session from before it was used, or no session.
    return this.mirror.get();
  }

  async set(token: string): Promise<void> {
    try {
      await this.run('readwrite', (s) => s.put(token, KEY));
    } catch {
      /* storage unavailable: the mirror still holds it */
    }
    await this.mirror.set(token);
  }

  async remove(): Promise<void> {
    try {
      await this.run('readwrite', (s) => s.delete(KEY));
    } catch {
      /* ignore */
    }
    await this.mirror.remove();
  }
}
