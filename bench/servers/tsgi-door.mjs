// Serves a tsgi application over the uwsgi or FastCGI protocol, for the nginx -> tsgi rows of
// `npm run bench`, by calling serveUwsgi / serveFastcgi directly: the stand-in for the CLI's
// `--bind uwsgi://HOST:PORT` and `--bind fastcgi://HOST:PORT` until it has them.
//
//   node bench/servers/tsgi-door.mjs uwsgi|fastcgi MODULE[:EXPORT] PORT
//
// It loads the built package (dist/, `npm run build`), or the sources through tsx when dist/ lacks
// the door.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [proto, spec, portText] = process.argv.slice(2);
if ((proto !== 'uwsgi' && proto !== 'fastcgi') || !spec || !/^\d+$/.test(portText ?? '')) {
  process.stderr.write('usage: node bench/servers/tsgi-door.mjs uwsgi|fastcgi MODULE[:EXPORT] PORT\n');
  process.exit(2);
}
const port = Number(portText);

async function load(dist, src) {
  if (existsSync(path.join(root, dist))) return import(pathToFileURL(path.join(root, dist)).href);
  const tsx = await import('tsx/esm/api');
  tsx.register();
  return import(pathToFileURL(path.join(root, src)).href);
}

const { loadApp } = await load('dist/server/load.js', 'src/server/load.ts');
const app = await loadApp(spec, root);
let handle;
if (proto === 'uwsgi') {
  const { serveUwsgi } = await load('dist/uwsgi/index.js', 'src/uwsgi/index.ts');
  handle = await serveUwsgi(app, { host: '127.0.0.1', port });
} else {
  const { serveFastcgi } = await load('dist/fastcgi/index.js', 'src/fastcgi/index.ts');
  handle = await serveFastcgi(app, { host: '127.0.0.1', port });
}
process.stderr.write(`Listening at: ${proto}://127.0.0.1:${handle.port} (pid ${process.pid})\n`);
const stop = () => handle.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
