/**
 * Users' pictures as object URLs, fetched once per user and session: avatar URLs
 * need the bearer token, so an <img> cannot load them itself. A user without one
 * answers 404 once and shows initials from then on; `forget` refetches (after
 * your own picture changed).
 */
export class AvatarCache {
  private readonly urls = new Map<string, Promise<string | null>>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly load: (userId: string) => Promise<Blob | null>) {}

  get(userId: string): Promise<string | null> {
    let found = this.urls.get(userId);
    if (!found) {
      found = this.load(userId).then(
        (blob) => (blob ? URL.createObjectURL(blob) : null),
        () => null,
      );
      this.urls.set(userId, found);
    }
    return found;
  }

  forget(userId: string): void {
    const old = this.urls.get(userId);
    this.urls.delete(userId);
    void old?.then((url) => url && URL.revokeObjectURL(url));
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
