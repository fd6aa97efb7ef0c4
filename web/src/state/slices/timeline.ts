import { ApiError } from '../api';
import { applyEventToRoom, applyMessageToRoom } from '../rooms';
import {
  applyLatestPage,
  applyOlderPage,
  applyAroundPage,
  emptyTimeline,
  firstUnreadSeq,
  insertEntries,
  insertMessages,
  lowSeq,
  type Timeline,
} from '../timeline';
import type { Message, RoomEvent } from '../types';
import { errorText } from './errors';
import type { UserSession } from './session';

/** Each room's messages, the open room, and paging through history. */

export interface RoomUi {
  loadingLatest: boolean;
  loadingOlder: boolean;
  /** Seq of the first unread message when the room was opened (frozen). */
  unreadFrom: number | null;
  error: string | null;
}

export interface TimelineState {
  timelines: Readonly<Record<string, Timeline>>;
  roomUi: Readonly<Record<string, RoomUi>>;
  activeRoom: string | null;
}

export function initialTimeline(): TimelineState {
  return { timelines: {}, roomUi: {}, activeRoom: null };
}

const EMPTY_UI: RoomUi = { loadingLatest: false, loadingOlder: false, unreadFrom: null, error: null };

export class TimelineSlice {
  constructor(private readonly chat: UserSession) {}

  set(tl: Timeline): void {
    this.chat.set((s) => ({ timelines: { ...s.timelines, [tl.room]: tl } }));
  }

  private setUi(room: string, patch: Partial<RoomUi>): void {
    this.chat.set((s) => ({
      roomUi: { ...s.roomUi, [room]: { ...(s.roomUi[room] ?? EMPTY_UI), ...patch } },
    }));
  }

  /** The user opened a room: load it if needed and freeze its unread marker. */
  open(id: string | null): void {
    const state = this.chat.state;
    const prev = state.activeRoom;
    if (prev && prev !== id) this.setUi(prev, { unreadFrom: null });
    this.chat.set({ activeRoom: id });
    if (!id) return;
    const tl = state.timelines[id];
    if (!tl || (!tl.loaded && !state.roomUi[id]?.loadingLatest)) {
      if (!tl) this.set(emptyTimeline(id));
      void this.loadLatest(id);
    } else if (tl.loaded) {
      void this.computeUnreadMarker(id);
    }
  }

  async loadLatest(id: string): Promise<void> {
    const chat = this.chat;
    this.setUi(id, { loadingLatest: true, error: null });
    try {
      const page = await chat.deps.api.history(id, { limit: chat.timing.pageSize });
      if (!chat.alive) return;
      const tl = chat.state.timelines[id] ?? emptyTimeline(id);
      this.set(applyLatestPage(tl, page, chat.myId));
      chat.outbox.settle(id);
      this.setUi(id, { loadingLatest: false });
      chat.gaps.check(id);
      if (chat.state.activeRoom === id) await this.computeUnreadMarker(id);
    } catch (e) {
      if (!chat.alive) return;
      if (e instanceof ApiError && e.status === 404) {
        chat.rooms.forget(id);
        return;
      }
      this.setUi(id, { loadingLatest: false, error: errorText(e) });
    }
  }

  private async computeUnreadMarker(id: string): Promise<void> {
    const chat = this.chat;
    const room = chat.state.rooms[id];
    if (!room || room.unread <= 0) {
      this.setUi(id, { unreadFrom: null });
      return;
    }
    const unread = room.unread;
    for (let i = 0; i < 4; i++) {
      const tl = chat.state.timelines[id];
      if (!tl) return;
      const first = firstUnreadSeq(tl.messages, unread, chat.myId);
      if (!first) break;
      if (first.exact || !tl.hasOlder) {
        this.setUi(id, { unreadFrom: first.seq });
        return;
      }
      await this.loadOlder(id);
      if (!chat.alive) return;
      if (chat.state.timelines[id] === tl) break;
    }
    const tl = chat.state.timelines[id];
    const first = tl ? firstUnreadSeq(tl.messages, unread, chat.myId) : null;
    this.setUi(id, { unreadFrom: first ? first.seq : null });
  }

  async loadOlder(id: string): Promise<void> {
    const chat = this.chat;
    const tl = chat.state.timelines[id];
    const ui = chat.state.roomUi[id];
    if (!tl || !tl.loaded || !tl.hasOlder || ui?.loadingOlder) return;
    this.setUi(id, { loadingOlder: true });
    try {
      const page = await chat.deps.api.history(id, { before: lowSeq(tl), limit: chat.timing.pageSize });
      if (!chat.alive) return;
      const cur = chat.state.timelines[id];
      if (cur) this.set(applyOlderPage(cur, page, chat.myId));
      chat.outbox.settle(id);
      this.setUi(id, { loadingOlder: false });
    } catch (e) {
      if (!chat.alive) return;
      this.setUi(id, { loadingOlder: false, error: errorText(e) });
    }
  }

  /** A confirmed message arrived live or replayed: sidebar, timeline, queue, typing, notification. */
  onMessage(msg: Message, live: boolean): void {
    const chat = this.chat;
    const myId = chat.myId;
    const room = chat.rooms.ensure(msg.room);
    const wasNew = msg.seq > room.last_seq;
    const next = applyMessageToRoom(room, msg, myId);
    if (next !== room || !chat.state.rooms[room.id]) chat.rooms.set(next);
    const tl = chat.state.timelines[msg.room];
    if (tl) {
      const merged = insertMessages(tl, [msg], myId);
      if (merged !== tl) this.set(merged);
      chat.gaps.check(msg.room);
      chat.outbox.settle(msg.room);
    }
    if (msg.sender.id !== myId) {
      chat.typing.stoppedBy(msg.room, msg.sender.id);
      if (live && wasNew && chat.notifications.wants(msg)) chat.deps.notify?.(msg, chat.state.rooms[msg.room]);
    }
  }

  /** A room event (edit, delete, reaction) arrived live, replayed or acked: fold it in. */
  onEvent(ev: RoomEvent): void {
    const chat = this.chat;
    const room = chat.state.rooms[ev.room];
    if (room) {
      const next = applyEventToRoom(room, ev);
      if (next !== room) chat.rooms.set(next);
    }
    const tl = chat.state.timelines[ev.room];
    if (tl) {
      const merged = insertEntries(tl, [{ event: ev }], chat.myId);
      if (merged !== tl) this.set(merged);
      chat.gaps.check(ev.room);
    }
  }

  /**
   * Show the message `seq` of a room: it is already held, or the history
   * around it replaces the window (the stream after it is then filled in as a gap).
   */
  async reveal(id: string, seq: number): Promise<boolean> {
    const chat = this.chat;
    const held = () => chat.state.timelines[id]?.messages.some((m) => m.seq === seq) ?? false;
    if (held()) return true;
    try {
      const page = await chat.deps.api.history(id, { around: seq, limit: chat.timing.pageSize });
      if (!chat.alive) return false;
      const tl = chat.state.timelines[id] ?? emptyTimeline(id);
      this.set(applyAroundPage(tl, page, chat.myId));
      chat.gaps.check(id);
      return held();
    } catch (e) {
      if (chat.alive) chat.toast(errorText(e));
      return false;
    }
  }
}
