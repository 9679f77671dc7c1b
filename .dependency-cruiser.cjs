// Layer rules checked by `npm run lint` (docs/contributing.md, "Layers").
// Each top-level folder is one process; shared code lives in common/.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles hide which module owns what; break them with a shared type module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'processes-do-not-import-the-app',
      severity: 'error',
      comment: 'producer/, mirrors/ and cache-proxy/ run on other hosts than the origin app.',
      from: { path: '^(producer|mirrors|cache-proxy|common)/' },
      to: { path: '^app/' },
    },
    {
      name: 'app-does-not-import-producer-internals',
      severity: 'error',
      comment: "The app owes renders through the outbox; what rendering means is the producer's.",
      from: { path: '^app/' },
      to: { path: '^producer/' },
    },
    {
      name: 'mirrors-and-proxy-stay-apart',
      severity: 'error',
      comment: 'A mirror and a proxy talk HTTP to each other, never through code.',
      from: { path: '^(mirrors|cache-proxy)/' },
      to: { path: '^(mirrors|cache-proxy|producer)/', pathNot: '^$1/' },
    },
    {
      name: 'common-is-shared-only',
      severity: 'error',
      comment: 'common/ holds what several processes share; it imports no process folder.',
      from: { path: '^common/' },
      to: { path: '^(app|producer|mirrors|cache-proxy|bin|test|bench|fixtures)/' },
    },
    {
      name: 'api-does-not-import-ui',
      severity: 'error',
      comment:
        'The JSON API and the editor UI both sit on the domain modules (app/content, app/moderation, app/http, ...).',
      from: { path: '^app/api/' },
      to: { path: '^app/ui/' },
    },
    {
      name: 'ui-does-not-import-api',
      severity: 'error',
      comment: 'The editor UI and the JSON API both sit on the domain modules; app/editor-app.ts composes them.',
      from: { path: '^app/ui/' },
      to: { path: '^app/api/' },
    },
    {
      name: 'production-code-does-not-import-tests',
      severity: 'error',
      from: { path: '^(app|producer|mirrors|cache-proxy|common|bin)/', pathNot: '\\.test\\.ts$' },
      to: { path: '(^test/|\\.test\\.ts$)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^node_modules|^data/|^test-output/|^bench/results/)' },
  },
};
