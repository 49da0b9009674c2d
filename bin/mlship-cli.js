#!/usr/bin/env node
// The `mlship` bin: runs the TypeScript command line through tsx's require hook, so no build step is needed.
require('tsx/cjs');
require('./mlship-cli.ts');
