/// <reference types="vitest/config" />
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// The Python server serves web/dist at "/" with an SPA fallback; the API lives
// under /api and the socket at /ws on the same origin. For `npm run dev`, point
// PARLEY_DEV_SERVER at a running `parley serve` (default http://127.0.0.1:8000).
const backend = process.env.PARLEY_DEV_SERVER ?? 'http://127.0.0.1:8000';

/**
 * The emoji picker's data (emojibase-data, pinned in package-lock.json) served
 * by the app itself at /emoji/en/*.json: the page's CSP allows no other origin.
 */
function emojiData(): Plugin {
  const require = createRequire(import.meta.url);
  const files = ['data.json', 'messages.json'];
  const read = (name: string) => readFileSync(require.resolve(`emojibase-data/en/${name}`));
  return {
    name: 'parley-emoji-data',
    configureServer(server) {
      server.middlewares.use('/emoji/en', (req, res, next) => {
        const name = (req.url ?? '').replace(/^\//, '').split('?')[0] ?? '';
        if (!files.includes(name)) return next();
        res.setHeader('Content-Type', 'application/json');
        res.end(read(name));
      });
    },
    generateBundle() {
      for (const name of files) this.emitFile({ type: 'asset', fileName: `emoji/en/${name}`, source: read(name) });
    },
  };
}

export default defineConfig({
  plugins: [react(), tailwindcss(), emojiData()],
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
