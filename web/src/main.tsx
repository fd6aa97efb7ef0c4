import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createStore, wireBrowser } from './app';
import { applySettings, loadLocalSettings } from './state/preferences';
import { StoreContext } from './ui/hooks';
import { App } from './ui/App';
import './index.css';

// This device's copy until the server's arrives after sign-in (public/theme.js painted it).
applySettings(loadLocalSettings());
const store = createStore();
wireBrowser(store);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreContext value={store}>
      <App />
    </StoreContext>
  </StrictMode>,
);
