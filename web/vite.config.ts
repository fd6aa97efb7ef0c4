/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// The Python server serves web/dist at "/" with an SPA fallback; the API lives
// under /api and the socket at /ws on the same origin. For `npm run dev`, point
// PARLEY_DEV_SERVER at a running `parley serve` (default http://127.0.0.1:8000).
const backend = process.env.PARLEY_DEV_SERVER ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      // The Host header stays the dev server's, as the browser's Origin is: the
      // server refuses a session-cookie request whose Origin is not its own host.
      '/api': { target: backend, changeOrigin: false },
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
