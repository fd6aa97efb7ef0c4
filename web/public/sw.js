/*
 * Parley's service worker: shows a Web Push notification and, on a click, focuses a
 * Parley tab (or opens one) at the message. Served from the root (/sw.js) so its scope
 * is the whole app; plain JavaScript with no imports, so it needs nothing the page's
 * Content-Security-Policy (script-src 'self') does not already allow.
 */

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

/** Only paths of this app, never another origin a payload might name. */
function messagePath(url) {
  return typeof url === 'string' && /^\/rooms\/[^/]+\/messages\/[1-9][0-9]*$/.test(url) ? url : '/';
}

function read(event) {
  try {
    const data = event.data ? event.data.json() : null;
    return data && typeof data === 'object' ? data : {};
  } catch {
    return {};
  }
}

self.addEventListener('push', (event) => {
  const data = read(event);
  // A push must show something (browsers require it): a bare one if the payload is odd.
  const title = typeof data.title === 'string' && data.title ? data.title : 'Parley';
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof data.body === 'string' ? data.body : 'New message',
      icon: '/favicon.svg',
      // One notification per message: a repeat of the same push replaces it.
      tag: `parley:${data.room ?? ''}:${data.seq ?? ''}`,
      data: { url: messagePath(data.url) },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL(messagePath(event.notification.data?.url), self.location.origin).href;
  event.waitUntil(
    (async () => {
      const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const tab = tabs.find((c) => new URL(c.url).origin === self.location.origin);
      if (tab) {
        const focused = await tab.focus();
        // navigate() works on tabs this worker controls; any other gets a new tab.
        if (await focused.navigate(target).catch(() => null)) return;
      }
      await self.clients.openWindow(target);
    })(),
  );
});
