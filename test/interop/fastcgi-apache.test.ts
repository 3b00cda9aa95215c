// tsgi's FastCGI door behind real Apache httpd (mod_proxy_fcgi, `ProxyPass / fcgi://...`), started
// from a private config that loads only the modules it needs: once as Apache does by default (a
// connection per request, FCGI_KEEP_CONN unset), once with `enablereuse=on` (FCGI_KEEP_CONN set).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { UNSPLIT_PATH, fastcgiSuite } from './fastcgi-suite.js';
import { APACHE_MODULES, apacheMissing, findBinary, startPeer } from './fastcgi-peers.js';

const MODULES = ['mpm_event', 'authz_core', 'proxy', 'proxy_fcgi'];

function startApache(dir: string, port: number, backend: number, reuse: boolean) {
  const conf = path.join(dir, 'httpd.conf');
  writeFileSync(
    conf,
    `ServerRoot ${dir}
DefaultRuntimeDir ${dir}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn
Listen 127.0.0.1:${port}
ServerName 127.0.0.1
User nobody
Group nogroup
${MODULES.map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`).join('\n')}
# retry=0: a refused backend connection must not disable the worker for 60 s (a test swaps backends).
ProxyPass / fcgi://127.0.0.1:${backend}/ retry=0${reuse ? ' enablereuse=on' : ''}
`,
  );
  return startPeer('apache2', dir, [findBinary('apache2')!, '-f', conf, '-DFOREGROUND'], port);
}

for (const reuse of [false, true]) {
  fastcgiSuite({
    name: `Apache mod_proxy_fcgi${reuse ? ' with enablereuse=on' : ''}`,
    missing: () => apacheMissing(MODULES),
    // No PATH_INFO from mod_proxy_fcgi: SCRIPT_NAME is the whole path, which tsgi serves at the root.
    scriptName: '',
    pathInfo: '/app/path',
    reuses: reuse,
    exclusions: [...UNSPLIT_PATH],
    start: (dir, port, backend) => startApache(dir, port, backend, reuse),
  });
}
