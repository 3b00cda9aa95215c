#!/usr/bin/env node
// Writes docs/settings.md from the settings table:  node --import tsx scripts/gen-settings-doc.mjs
// (test/settings/doc.test.ts fails when the committed page differs from what this writes).
import { writeFileSync } from 'node:fs';
import { renderSettingsDoc } from '../src/settings/doc.ts';

const target = new URL('../docs/settings.md', import.meta.url);
writeFileSync(target, renderSettingsDoc());
console.log(`wrote ${target.pathname}`);
