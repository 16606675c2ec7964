// Placeholder page (the WEB half replaces it): proves the import map and the vendor files load.
import htm from 'htm';
import { h, render } from 'preact';

const html = htm.bind(h);
render(html`<h1>Millwright console</h1>`, document.getElementById('app'));
