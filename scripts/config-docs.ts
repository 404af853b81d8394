// Writes docs/configuration.md from the config schema and its descriptions.
import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from './config-docs-render.js';

const target = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(target, renderConfigDocs());
console.log(`wrote ${target.pathname}`);
