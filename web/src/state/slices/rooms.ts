import { ApiError, type RoomChange } from '../api';
import { mergeServerRoom, placeholderRoom, sortRooms, type RoomState } from '../rooms';
import { SessionExpiredError } from '../tokens';
import type { SearchQuery } from '../search';
import type { DirectoryPage, Room, RoomUpdatedEvent, SearchPage, User } from '../types';
import { errorText } from './errors';
import type { UserSession } from './session';

/** The sidebar's rooms: the list from the server merged with what arrives live. */

export interface RoomsState {
  rooms: Readonly<Record<string, RoomState>>;
  /** Room ids, newest activity first. */
  order: readonly string[];
  roomsLoaded: boolean;
}

export function initialRooms(): RoomsState {
  return { rooms: {}, order: [], roomsLoaded: false };
}

export class RoomsSlice {
  private readonly fetches = new Map<string, Promise<void>>();
  /** When a room was announced (event or creation), so an older list does not drop it. */
  private readonly addedAt = new Map<string, number>();

  constructor(private readonly chat: UserSession) {}

  set(room: RoomState, reorder = true): void {
    this.chat.set((s) => {
      const rooms = { ...s.rooms, [room.id]: room };
      const prev = s.rooms[room.id];
      const needsSort = reorder && (!prev || prev.activity !== room.activity);
      return { rooms, order: needsSort ? sortRooms(Object.values(rooms)).map((r) => r.id) : s.order };
    });
  }

  /** The room a message belongs to; an unknown one gets a placeholder and is fetched. */
  ensure(id: string): RoomState {
    const existing = this.chat.state.rooms[id];
    if (existing) return existing;
    const ph = placeholderRoom(id, this.chat.now());
    this.addedAt.set(id, this.chat.now());
    void this.refresh(id);
    return ph;
  }

  onRoomEvent(room: Room): void {
    const local = this.chat.state.rooms[room.id];
    if (!local || local.placeholder) {
      // Added to a room (or one was created with me in it).
      this.addedAt.set(room.id, this.chat.now());
      this.merge(room);
      return;
    }
    // A membership change broadcast to every member: its unread count is not
    // mine, so take only the room's details and keep my counters.
    this.set(
      {
        ...local,
        kind: room.kind,
        name: room.name,
        topic: room.topic,
        public: room.public,
        members: room.members,
        roles: room.roles,
      },
      false,
    );
    if (room.last_seq > local.last_seq) void this.refresh(room.id);
  }

  /** A rename, topic, visibility or role change, the same for every member. */
  onRoomUpdated(event: RoomUpdatedEvent): void {
    const local = this.chat.state.rooms[event.room];
    if (!local) return;
    const { name, topic, roles } = event;
    this.set({ ...local, name, topic, public: event.public, roles }, false);
  }

  private merge(server: Room): void {
    const merged = mergeServerRoom(this.chat.state.rooms[server.id], server, this.chat.now());
    this.set(merged);
    if (this.chat.state.timelines[server.id]) this.chat.gaps.check(server.id);
  }

  async refreshAll(): Promise<void> {
    const chat = this.chat;
    const startedAt = chat.now();
    let list: Room[];
    try {
      list = await chat.deps.api.listRooms();
    } catch (e) {
      if (!chat.alive) return;
      if (!(e instanceof SessionExpiredError)) chat.toast(`Could not load conversations: ${errorText(e)}`);
      return;
    }
    if (!chat.alive) return;
    const state = chat.state;
    const rooms: Record<string, RoomState> = {};
    const now = chat.now();
    for (const r of list) rooms[r.id] = mergeServerRoom(state.rooms[r.id], r, now);
    // Keep rooms announced after the request started (not in this snapshot).
    for (const [id, r] of Object.entries(state.rooms)) {
      if (!rooms[id] && (this.addedAt.get(id) ?? 0) >= startedAt) rooms[id] = r;
    }
    const timelines = { ...state.timelines };
    for (const [id, tl] of Object.entries(timelines)) {
      if (!rooms[id] && !(tl.pending.length > 0 && state.rooms[id])) delete timelines[id];
    }
    const activeRoom = state.activeRoom && !rooms[state.activeRoom] ? null : state.activeRoom;
    chat.set({
      rooms,
      order: sortRooms(Object.values(rooms)).map((r) => r.id),
      roomsLoaded: true,
      timelines,
      activeRoom,
    });
    for (const id of Object.keys(timelines)) chat.gaps.check(id);
  }

  refresh(id: string): Promise<void> {
    const existing = this.fetches.get(id);
    if (existing) return existing;
    const chat = this.chat;
    const p = (async () => {
      try {
        const room = await chat.deps.api.getRoom(id);
        if (chat.alive) this.merge(room);
      } catch (e) {
        if (chat.alive && e instanceof ApiError && e.status === 404) this.forget(id);
      } finally {
        this.fetches.delete(id);
      }
    })();
    this.fetches.set(id, p);
    return p;
  }

  /** The room is gone for me (left, or not found): drop it from every slice. */
  forget(id: string): void {
    this.chat.set((s) => {
      const rooms = { ...s.rooms };
      const timelines = { ...s.timelines };
      const typing = { ...s.typing };
      delete rooms[id];
      delete timelines[id];
      delete typing[id];
      return {
        rooms,
        timelines,
        typing,
        order: s.order.filter((x) => x !== id),
        activeRoom: s.activeRoom === id ? null : s.activeRoom,
      };
    });
    this.chat.reads.forget(id);
    this.chat.gaps.forget(id);
  }

  private added(room: Room): string {
    this.addedAt.set(room.id, this.chat.now());
    this.merge(room);
    return room.id;
  }

  async createDirect(username: string): Promise<string> {
    return this.added(await this.chat.deps.api.createDirect(username));
  }

  async createGroup(name: string, usernames: string[], isPublic = false): Promise<string> {
    return this.added(await this.chat.deps.api.createGroup(name, usernames, isPublic));
  }

  async addMember(roomId: string, username: string): Promise<void> {
    const res = await this.chat.deps.api.addMember(roomId, username);
    if (res) this.merge(res);
    else await this.refresh(roomId);
  }

  /** The server's answer is the room as it is now; the event reaches the other members. */
  async update(roomId: string, change: RoomChange): Promise<void> {
    this.merge(await this.chat.deps.api.updateRoom(roomId, change));
  }

  async setRole(roomId: string, userId: string, role: 'admin' | 'member'): Promise<void> {
    this.merge(await this.chat.deps.api.setRole(roomId, userId, role));
  }

  async transferOwnership(roomId: string, userId: string): Promise<void> {
    this.merge(await this.chat.deps.api.transferOwnership(roomId, userId));
  }

  async removeMember(roomId: string, userId: string): Promise<void> {
    await this.chat.deps.api.removeMember(roomId, userId);
    await this.refresh(roomId);
  }

  directory(q: string, cursor: string | null): Promise<DirectoryPage> {
    return this.chat.deps.api.directory(q, cursor);
  }

  async join(roomId: string): Promise<string> {
    return this.added(await this.chat.deps.api.joinRoom(roomId));
  }

  /** Out of the list until the conversation's next message (which clears `hidden`). */
  async hide(roomId: string): Promise<void> {
    await this.chat.deps.api.hideRoom(roomId);
    const local = this.chat.state.rooms[roomId];
    if (local) this.set({ ...local, hidden: true }, false);
    this.chat.set((s) => ({ activeRoom: s.activeRoom === roomId ? null : s.activeRoom }));
  }

  async leave(roomId: string): Promise<void> {
    await this.chat.deps.api.leaveRoom(roomId);
    this.forget(roomId);
  }

  /** Full-text search in the rooms the user is in (the server keeps to those). */
  searchMessages(query: SearchQuery): Promise<SearchPage> {
    return this.chat.deps.api.search(query);
  }

  async searchUsers(prefix: string): Promise<User[]> {
    const users = await this.chat.deps.api.searchUsers(prefix);
    return users.filter((u) => u.id !== this.chat.myId);
  }
}
