// The HTTP engine the HTTP suites run against: node:http by default, tsgi's own (src/h1) with
// TSGI_ENGINE=net. `npm test` runs those suites once per engine (scripts/run-tests.mjs); the CLI
// reads the same variable (the `engine` setting).
export const ENGINE_NAME = process.env.TSGI_ENGINE === 'net' ? 'net' : 'node';
export const ENGINE = { engine: ENGINE_NAME } as const;
