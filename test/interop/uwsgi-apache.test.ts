// tsgi's uwsgi door behind real Apache httpd (mod_proxy_uwsgi, `ProxyPass / uwsgi://...`), started
// from a private config that loads only the modules it needs.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { frontEndSuite } from './uwsgi-suite.js';
import { APACHE_MODULES, findBinary, startPeer } from './uwsgi-peers.js';

const MODULES = ['mpm_event', 'authz_core', 'proxy', 'proxy_uwsgi'];

frontEndSuite({
  name: 'Apache mod_proxy_uwsgi',
  missing() {
    if (!findBinary('apache2')) return 'apache2 not installed (apt-get install apache2)';
    const absent = MODULES.filter((m) => !existsSync(path.join(APACHE_MODULES, `mod_${m}.so`)));
    return absent.length > 0 ? `Apache modules missing from ${APACHE_MODULES}: ${absent.join(', ')}` : null;
  },
  // ProxyPass at "/": mod_proxy_uwsgi sends the decoded path as PATH_INFO and the prefix as SCRIPT_NAME.
  scriptName: '',
  pathInfo: '/app/path',
  // mod_proxy_uwsgi refuses chunked request bodies with 411 before it connects to the backend.
  chunked: 411,
  start(dir, port, backend) {
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
# retry=0: a refused backend connection must not disable the worker for 60 s (the tests swap backends).
ProxyPass / uwsgi://127.0.0.1:${backend}/ retry=0
`,
    );
    return startPeer('apache2', dir, [findBinary('apache2')!, '-f', conf, '-DFOREGROUND'], port);
  },
});
