// The page's entry: global styles, the app, and (in a built page) the service worker that makes it work offline.
import { mount } from 'svelte';
import './ui/styles.css';
import App from './ui/App.svelte';
import { registerServiceWorker } from './ui/offline/register.ts';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target });

if (import.meta.env.PROD) registerServiceWorker();
