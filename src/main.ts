#!/usr/bin/env node
// The entry point. It must run on any Node (no import that needs Node 24 may come before the
// check): an older Node otherwise stops on the first import it lacks (node:sqlite) with a stack
// trace that does not say what is wrong.
const minimumMajor = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < minimumMajor) {
  process.stderr.write(
    `tusgate needs Node ${minimumMajor} or later; this is ${process.versions.node}\n`,
  );
  process.exit(1);
}
await import('./cli.ts');
