import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createStore, wireBrowser } from './app';
import { StoreContext } from './ui/hooks';
import { App } from './ui/App';
import './index.css';

const store = createStore();
wireBrowser(store);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreContext value={store}>
      <App />
    </StoreContext>
  </StrictMode>,
);
