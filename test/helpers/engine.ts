// The HTTP engine the HTTP suites run against: tsgi's own (src/http/net, the default), node:http with
// TSGI_ENGINE=node. `npm test` runs those suites once per engine (scripts/run-tests.mjs); the CLI
// reads the same variable (the `engine` setting).
export const ENGINE_NAME = process.env.TSGI_ENGINE === 'node' ? 'node' : 'net';
export const ENGINE = { engine: ENGINE_NAME } as const;
