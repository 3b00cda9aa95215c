// The nginx configurations of the bench: one nginx worker on a prefix folder of its own, and the location
// of nginx in front of a uwsgi or FastCGI backend. Used by bench/run.mjs (its nginx rows) and
// bench/side-by-side.mjs (--uwsgi).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Writes DIR/nginx.conf: nginx on 127.0.0.1:listenPort with `location` at / (and an `upstream` block). */
export function nginxConf(dir, listenPort, location, upstream = '') {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    sendfile on;
    tcp_nopush on;
    client_max_body_size 4m;
    client_body_buffer_size 2m;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    ${upstream}
    server {
        listen 127.0.0.1:${listenPort};
        server_name localhost;
        root ${dir}/www;
        location / {
            ${location}
        }
    }
}
`,
  );
  return conf;
}

/** nginx's arguments for a prefix folder and a configuration file written by nginxConf. */
export const nginxArgs = (dir, conf) => ['-p', dir, '-c', conf, '-e', `${dir}/error.log`];

/** The location of nginx in front of a uwsgi or FastCGI backend on 127.0.0.1:back. */
export function frontConf(dir, port, proto, back) {
  if (proto === 'uwsgi') {
    // nginx keeps no upstream connection alive over uwsgi (the protocol ends a response by closing).
    return nginxConf(
      dir,
      port,
      `include ${path.join(here, 'nginx/uwsgi_params')};
            uwsgi_pass 127.0.0.1:${back};
            uwsgi_max_temp_file_size 0;`,
    );
  }
  return nginxConf(
    dir,
    port,
    `include ${path.join(here, 'nginx/fastcgi_params')};
            fastcgi_pass backend;
            fastcgi_keep_conn on;
            fastcgi_max_temp_file_size 0;`,
    `upstream backend { server 127.0.0.1:${back}; keepalive 64; }`,
  );
}
