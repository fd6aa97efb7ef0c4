/**
 * What the user typed but did not send, per room. It survives switching rooms
 * (not reloads) and belongs to the session, so it is gone after signing out.
 */
export class DraftsSlice {
  private readonly drafts = new Map<string, string>();

  get(roomId: string): string {
    return this.drafts.get(roomId) ?? '';
  }

  set(roomId: string, text: string): void {
    if (text) this.drafts.set(roomId, text);
    else this.drafts.delete(roomId);
  }
}
