// `npm run build`: the server as one ES module bundle in dist/ (what the Docker image runs:
// `node dist/server.js`), and the operator CLI beside it (`node dist/cli.js`, the `xt-connect` bin),
// sharing its chunks. Types are checked by `tsc --noEmit` in the test line, not here.
//
// Why a bundle: loading ~400 small modules (ours and node_modules') costs Node more at start than
// running them: spawn to the first 200 on /healthz went from ~520 ms (tsc's one file per module) to
// ~330 ms on Node 20 (bench/results/startup.md). Code loaded only when used (the OIDC dialect, the
// Redis stores, jose for links) stays in its own chunk, loaded on first use as before.
//
// Left outside the bundle, loaded from node_modules as usual:
//  - better-sqlite3: a native addon;
//  - pino: its destination and transports resolve files of their own at run time;
//  - nunjucks: it requires optional packages (chokidar) by name, which a bundler cannot see through.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { server: 'src/server.ts', cli: 'src/cli.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'chokidar', 'fsevents'],
  // CommonJS packages in the bundle (express and friends) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __xtcRequire } from 'node:module'; const require = __xtcRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});
