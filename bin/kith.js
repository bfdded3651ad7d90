#!/usr/bin/env node
// Entry point for the `kith` command. The sources are TypeScript run through tsx's loader, so a fresh
// clone needs no build step: `npm install && npx kith --help` works.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
