// tsgi's FastCGI door behind real nginx (`fastcgi_pass`) with upstream nginx's fastcgi_params: once
// with `fastcgi_keep_conn off` (the default: nginx waits for tsgi to close after END_REQUEST), once
// with `fastcgi_keep_conn on` and an upstream keepalive pool (connections reused), and over a Unix socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { serveFastcgi, type FastcgiServerHandle } from '../../src/fastcgi/index.js';
import { application } from './fastcgi-app.js';
import { UNSPLIT_PATH, fastcgiSuite } from './fastcgi-suite.js';
import { findBinary, freePort, parseDump, quietLog, removeDir, request, startPeer, tempDir, type Peer } from './fastcgi-peers.js';

// Upstream nginx's conf/fastcgi_params: what `include fastcgi_params` gives (no PATH_INFO).
const FASTCGI_PARAMS = `
fastcgi_param QUERY_STRING $query_string;
fastcgi_param REQUEST_METHOD $request_method;
fastcgi_param CONTENT_TYPE $content_type;
fastcgi_param CONTENT_LENGTH $content_length;
fastcgi_param SCRIPT_NAME $fastcgi_script_name;
fastcgi_param REQUEST_URI $request_uri;
fastcgi_param DOCUMENT_URI $document_uri;
fastcgi_param DOCUMENT_ROOT $document_root;
fastcgi_param SERVER_PROTOCOL $server_protocol;
fastcgi_param REQUEST_SCHEME $scheme;
fastcgi_param HTTPS $https if_not_empty;
fastcgi_param GATEWAY_INTERFACE CGI/1.1;
fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
fastcgi_param REMOTE_ADDR $remote_addr;
fastcgi_param REMOTE_PORT $remote_port;
fastcgi_param SERVER_ADDR $server_addr;
fastcgi_param SERVER_PORT $server_port;
fastcgi_param SERVER_NAME $server_name;
fastcgi_param REDIRECT_STATUS 200;
`;

const missing = () => (findBinary('nginx') ? null : 'nginx not installed (apt-get install nginx-light)');

/** A private nginx config: everything under `dir`, one server on 127.0.0.1:port. */
function nginxConf(dir: string, port: number, upstream: string, location: string, more = ''): string {
  writeFileSync(path.join(dir, 'fastcgi_params'), FASTCGI_PARAMS);
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 64m;
  large_client_header_buffers 4 32k;
  ${upstream}
  server {
    listen 127.0.0.1:${port};
    server_name interop.test;
    location / {
      include ${dir}/fastcgi_params;
      ${location}
    }
    ${more}
  }
}
`,
  );
  return conf;
}

const startNginx = (dir: string, port: number, conf: string) =>
  startPeer('nginx', dir, [findBinary('nginx')!, '-p', dir, '-c', conf, '-e', `${dir}/error.log`, '-g', 'daemon off; master_process off;'], port);

const NGINX_EXCLUSIONS = [...UNSPLIT_PATH];

fastcgiSuite({
  name: 'nginx',
  missing,
  scriptName: '',
  pathInfo: '/app/path',
  reuses: false,
  exclusions: NGINX_EXCLUSIONS,
  start: (dir, port, backend) => startNginx(dir, port, nginxConf(dir, port, '', `fastcgi_pass 127.0.0.1:${backend};`)),
});

fastcgiSuite({
  name: 'nginx with fastcgi_keep_conn and a keepalive pool',
  missing,
  scriptName: '',
  pathInfo: '/app/path',
  reuses: true,
  exclusions: NGINX_EXCLUSIONS,
  start: (dir, port, backend) =>
    startNginx(
      dir,
      port,
      nginxConf(dir, port, `upstream tsgi { server 127.0.0.1:${backend}; keepalive 4; }`, 'fastcgi_keep_conn on;\n      fastcgi_pass tsgi;'),
    ),
});

describe('FastCGI door on a Unix socket behind nginx', { skip: missing() ?? false, timeout: 60_000 }, () => {
  let dir = '';
  let port = 0;
  let tsgi: FastcgiServerHandle | undefined;
  let peer: Peer | undefined;

  before(async () => {
    dir = tempDir('nginx-unix');
    port = await freePort();
    const sock = path.join(dir, 'tsgi.sock');
    tsgi = await serveFastcgi(application, { path: sock, log: quietLog, stderr: true });
    // /app/: the application mounted under a prefix, as docs/deploy.md shows it.
    const mounted = `location /app/ {
      include ${dir}/fastcgi_params;
      fastcgi_split_path_info ^(/app)(/.*)$;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_pass unix:${sock};
    }`;
    peer = await startNginx(dir, port, nginxConf(dir, port, '', `fastcgi_pass unix:${sock};`, mounted));
  });

  after(async () => {
    await peer?.stop();
    await tsgi?.close();
    if (dir) removeDir(dir);
  });

  test('GET and POST', async () => {
    const get = await request(port, { path: '/root/path?x=1' });
    assert.equal(get.status, 200, peer?.log());
    assert.equal(parseDump(get.body).get('PATH_INFO'), '/root/path');
    const post = await request(port, { method: 'POST', path: '/echo', body: 'hello' });
    assert.equal(post.body.toString().split(' ')[0], '5');
  });

  test("stderr: wsgi.errors lines land in nginx's error log", async () => {
    const r = await request(port, { path: '/errors' });
    assert.equal(r.body.toString(), 'logged\n');
    // nginx writes the record before it finishes the response; its log line is there by now.
    assert.match(peer!.log(), /FastCGI sent in stderr: "a line for the error log from wsgi\.errors/);
  });

  test('mounted under a prefix with fastcgi_split_path_info', async () => {
    const env = parseDump((await request(port, { path: '/app/x/y?q=1' })).body);
    assert.deepEqual([env.get('SCRIPT_NAME'), env.get('PATH_INFO'), env.get('QUERY_STRING')], ['/app', '/x/y', 'q=1']);
  });
});
