import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { DappProvider } from './context';
import { loadConfig } from './lib/config';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
loadConfig().then((config) => {
  root.render(
    <StrictMode>
      <DappProvider config={config}><App /></DappProvider>
    </StrictMode>,
  );
  document.body.dataset.ready = 'true';
});
