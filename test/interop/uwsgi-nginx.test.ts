// tsgi's uwsgi door behind real nginx (`uwsgi_pass`), with the uwsgi_params of upstream nginx.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serveUwsgi, type UwsgiServerHandle } from '../../src/uwsgi/index.js';
import { frontEndSuite } from './uwsgi-suite.js';
import { findBinary, freePort, interopApp, parseDump, quietLog, removeDir, request, startPeer, tempDir, type Peer } from './uwsgi-peers.js';

// Upstream nginx's conf/uwsgi_params (Debian's copy adds HTTP_HOST $host): what `include uwsgi_params` gives.
const UWSGI_PARAMS = `
uwsgi_param QUERY_STRING $query_string;
uwsgi_param REQUEST_METHOD $request_method;
uwsgi_param CONTENT_TYPE $content_type;
uwsgi_param CONTENT_LENGTH $content_length;
uwsgi_param REQUEST_URI $request_uri;
uwsgi_param PATH_INFO $document_uri;
uwsgi_param DOCUMENT_ROOT $document_root;
uwsgi_param SERVER_PROTOCOL $server_protocol;
uwsgi_param REQUEST_SCHEME $scheme;
uwsgi_param HTTPS $https if_not_empty;
uwsgi_param REMOTE_ADDR $remote_addr;
uwsgi_param REMOTE_PORT $remote_port;
uwsgi_param SERVER_PORT $server_port;
uwsgi_param SERVER_NAME $server_name;
`;

const missing = () => (findBinary('nginx') ? null : 'nginx not installed (apt-get install nginx-light)');

/** nginx from a private config; `upstream` is what uwsgi_pass points at (host:port or unix:PATH). */
function startNginx(dir: string, port: number, upstream: string): Promise<Peer> {
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(path.join(dir, 'uwsgi_params'), UWSGI_PARAMS);
  writeFileSync(
    conf,
    `pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  uwsgi_temp_path ${dir}/uwsgi;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:${port};
    server_name interop.test;
    location / {
      include ${dir}/uwsgi_params;
      uwsgi_pass ${upstream};
    }
  }
}
`,
  );
  return startPeer('nginx', dir, [findBinary('nginx')!, '-p', dir, '-c', conf, '-e', `${dir}/error.log`, '-g', 'daemon off; master_process off;'], port);
}

frontEndSuite({
  name: 'nginx',
  missing,
  scriptName: '',
  pathInfo: '/app/path',
  chunked: 'de-chunked',
  start: (dir, port, backend) => startNginx(dir, port, `127.0.0.1:${backend}`),
});

describe('uwsgi door on a Unix socket behind nginx', { skip: missing() ?? false }, () => {
  let dir = '';
  let port = 0;
  let tsgi: UwsgiServerHandle | undefined;
  let nginx: Peer | undefined;
  before(
    async () => {
      dir = tempDir('nginx-unix');
      port = await freePort();
      tsgi = await serveUwsgi(interopApp, { path: path.join(dir, 'tsgi.sock'), log: quietLog });
      nginx = await startNginx(dir, port, `unix:${dir}/tsgi.sock`);
    },
    { timeout: 30_000 },
  );
  after(
    async () => {
      await nginx?.stop();
      await tsgi?.close();
      if (dir) removeDir(dir);
    },
    { timeout: 30_000 },
  );

  test('GET and POST', { timeout: 30_000 }, async () => {
    const get = await request(port, { path: '/via/unix?q=1' });
    assert.equal(get.status, 200, nginx!.log());
    const env = parseDump(get.body);
    assert.equal(env.get('PATH_INFO'), '/via/unix');
    assert.equal(env.get('REMOTE_ADDR'), '127.0.0.1', "the client address nginx reports, not the socket's");
    const post = await request(port, { method: 'POST', path: '/echo', body: 'hello' });
    assert.match(post.body.toString(), /^5 /);
  });
});
