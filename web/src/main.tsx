import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { wireBrowser } from './app';
import { App } from './ui/App';
import './index.css';

wireBrowser();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
