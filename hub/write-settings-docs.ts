// `npm run docs:settings`: rewrites README.md's table of hub settings from their declaration.
import { readFile, writeFile } from 'node:fs/promises';
import { withSettingsTable } from './settings-docs.js';

const readme = new URL('../README.md', import.meta.url);
await writeFile(readme, withSettingsTable(await readFile(readme, 'utf8')));
