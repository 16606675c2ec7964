#!/usr/bin/env node
// The `millwright` operator CLI (package.json "bin"): TypeScript run through tsx, as `npm start` is.
import { register } from 'tsx/esm/api';

// The SDK warns on Node 20 at every run; the README says Node 22 is what Lambda runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { runCli } = await import('../cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
