/** Whether the page is one of the admin pages (App.tsx routes them to the lazily loaded AdminApp,
 * so the chat never downloads the admin pages and their chart library). */
export function isAdminPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}
