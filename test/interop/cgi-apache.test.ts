// tsgi-cgi under real Apache httpd (mod_cgi, prefork MPM), from a private config that loads only the
// modules it needs. Started as root, Apache runs CGI scripts as nobody.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cgiSuite } from './cgi-suite.js';
import { APACHE_MODULES, apacheMissing, findBinary, startPeer } from './fastcgi-peers.js';

const MODULES = ['mpm_prefork', 'authz_core', 'alias', 'cgi'];

cgiSuite({
  name: 'Apache mod_cgi',
  missing: () => apacheMissing(MODULES),
  // mod_cgi de-chunks a chunked request body but sets no CONTENT_LENGTH: stdin until EOF.
  chunkedLength: 'absent',
  software: 'Apache/',
  start(dir, port) {
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
ScriptAlias /cgi-bin/ "${dir}/cgi-bin/"
<Directory "${dir}/cgi-bin">
  Require all granted
</Directory>
`,
    );
    return startPeer('apache2', dir, [findBinary('apache2')!, '-f', conf, '-DFOREGROUND'], port);
  },
});
