import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../api';
import { ChatStore } from '../store';
import { ana, ben, msg, range, room } from '../testutil';
import { FakeApi, FakeConn, newTokens, r1, setup, withFakeClock } from './testkit';

withFakeClock();

describe('session', () => {
  it('boots signed out without a stored session', async () => {
    const store = new ChatStore({
      api: new FakeApi() as unknown as ApiClient,
      tokens: newTokens(),
      connect: (o) => new FakeConn(o),
    });
    await store.boot();
    expect(store.getState().phase).toBe('signedOut');
    expect(store.session).toBeNull();
  });

  it('signs in, connects, and loads the room list after ready', async () => {
    const t = await setup({ rooms: [r1, room('r2', { last_seq: 2, last_message: msg(9) })] });
    expect(t.s().phase).toBe('signedIn');
    expect(t.s().me).toEqual(ana);
    expect(t.conn.started).toBe(1);
    expect(t.api.listCalls).toBe(2); // at sign-in and after ready
    expect(t.s().order).toEqual(['r2', 'r1']); // newest activity first
    expect(t.s().conn.status).toBe('online');
  });

  it('refreshes the room list on every reconnect', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.drop();
    t.conn.connectReady();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.api.listCalls).toBe(3);
  });

  it('returns to sign-in with a reason when the session expires', async () => {
    const t = await setup({ rooms: [r1] });
    t.conn.opts.onSessionExpired?.();
    expect(t.s().phase).toBe('signedOut');
    expect(t.s().signedOutReason).toMatch(/session/i);
    expect(t.s().rooms).toEqual({});
    expect(t.store.session).toBeNull();
    expect(t.conn.stopped).toBe(true);
  });
});

describe('session: back from a provider', () => {
  function storeWith(providers = [{ name: 'corp', display_name: 'Corp', kind: 'oidc' as const }]) {
    const api = Object.assign(new FakeApi(), { providers: async () => providers });
    const tokens = newTokens();
    const store = new ChatStore({
      api: api as unknown as ApiClient,
      tokens,
      connect: (o) => new FakeConn(o),
    });
    return { store, tokens };
  }

  it('boots into the session the server started', async () => {
    const { store, tokens } = storeWith();
    expect(tokens.hasSession()).toBe(false);
    store.acceptOAuthReturn({ kind: 'signed_in', provider: 'corp' });
    expect(tokens.hasSession()).toBe(true);
    await store.boot();
    expect(store.getState().phase).toBe('signedIn');
    expect(store.getState().oauth).toBeNull();
  });

  it('keeps a refusal and the providers for the sign-in screen, until dismissed', async () => {
    const { store } = storeWith();
    await store.loadProviders();
    store.acceptOAuthReturn({ kind: 'error', code: 'denied', provider: 'corp' });
    await store.boot();
    const st = store.getState();
    expect(st.phase).toBe('signedOut');
    expect(st.oauth).toEqual({ kind: 'error', code: 'denied', provider: 'corp' });
    expect(st.providers.map((p) => p.name)).toEqual(['corp']);
    store.dismissOAuth();
    expect(store.getState().oauth).toBeNull();
  });

  it('keeps a link outcome across the boot, for the settings to show', async () => {
    const { store, tokens } = storeWith();
    await tokens.setSession({ access_token: 'at', expires_in: 900 });
    store.acceptOAuthReturn({ kind: 'linked', provider: 'corp' });
    await store.boot();
    expect(store.getState().phase).toBe('signedIn');
    expect(store.getState().oauth).toEqual({ kind: 'linked', provider: 'corp' });
    store.endSession(null);
    expect(store.getState().oauth).toBeNull();
  });
});

describe('session: nothing of one user reaches the next', () => {
  /** Ana leaves a draft, an unsent message, a throttled read and a typing notice behind. */
  async function busyAna() {
    const t = await setup({
      rooms: [room('r1', { last_seq: 8, unread: 3, last_message: msg(8) })],
      history: { r1: range(1, 8).map((s) => msg(s)) },
    });
    t.chat.timeline.open('r1');
    await vi.advanceTimersByTimeAsync(0);
    t.chat.drafts.set('r1', 'half a thought');
    t.chat.reads.mark('r1', 6);
    await vi.advanceTimersByTimeAsync(0);
    t.chat.reads.mark('r1', 8); // throttled: waits in a timer
    t.conn.serverSends({ type: 'typing', room: 'r1', user: ben });
    t.conn.serverSends({ type: 'presence', user: ben, status: 'online' });
    t.conn.drop();
    t.chat.outbox.send('r1', 'sent while offline'); // waits in the outbox
    return t;
  }

  it('signing out resets every slice and stops the socket', async () => {
    const t = await busyAna();
    const ana = t.chat;
    await t.store.signOut();
    const s = t.s();
    expect(s).toMatchObject({ phase: 'signedOut', me: null, rooms: {}, order: [], timelines: {}, roomUi: {} });
    expect(s).toMatchObject({ typing: {}, presence: {}, activeRoom: null, notice: null, roomsLoaded: false });
    expect(t.store.session).toBeNull();
    expect(ana.alive).toBe(false);
    expect(t.conn.stopped).toBe(true);
  });

  it('the next user in the tab gets an empty composer, and nothing is sent in their name', async () => {
    const t = await busyAna();
    const readsBefore = t.conn.sends('read').length;
    await t.store.signOut();
    await t.store.signIn('bob', 'password123');
    const bob = t.store.session!;
    expect(bob).not.toBe(t.chat);
    expect(bob.drafts.get('r1')).toBe('');
    const bobConn = t.conns[1]!;
    bobConn.connectReady();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(bobConn.sent).toEqual([]);
    expect(t.conn.sends('read')).toHaveLength(readsBefore); // Ana's throttled marker died with her
    expect(t.s().typing).toEqual({});
  });

  it('a late answer for the last user changes nothing for the next', async () => {
    const t = await setup({ rooms: [r1] });
    t.api.holdHistory = true;
    t.chat.timeline.open('r1');
    await t.store.signOut();
    t.api.rooms.clear();
    await t.store.signIn('bob', 'password123');
    await vi.advanceTimersByTimeAsync(0);
    for (const release of t.api.held) release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.s().me?.username).toBe('bob');
    expect(t.s().timelines).toEqual({});
    expect(t.s().roomUi).toEqual({});
  });

  it('a signed-out session ignores events and reads its own last state', async () => {
    const t = await setup({ rooms: [r1] });
    const old = t.chat;
    await t.store.signOut();
    t.api.rooms.clear(); // Bob is in no room
    await t.store.signIn('bob', 'password123');
    old.handleEvent({ type: 'message', message: msg(6) });
    old.outbox.send('r1', 'ghost');
    expect(t.s().rooms).toEqual({});
    expect(t.s().timelines).toEqual({});
    expect(old.state.me).toEqual(ana);
  });
});
