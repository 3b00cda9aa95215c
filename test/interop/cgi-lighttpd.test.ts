// tsgi-cgi under real lighttpd (mod_cgi).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cgiSuite } from './cgi-suite.js';
import { findBinary, startPeer } from './fastcgi-peers.js';

cgiSuite({
  name: 'lighttpd mod_cgi',
  missing: () => (findBinary('lighttpd') ? null : 'lighttpd not installed (apt-get install lighttpd)'),
  // lighttpd de-chunks a chunked request body and sets CONTENT_LENGTH.
  chunkedLength: 'set',
  software: 'lighttpd/',
  start(dir, port) {
    const conf = path.join(dir, 'lighttpd.conf');
    writeFileSync(
      conf,
      `server.document-root = "${dir}"
server.bind = "127.0.0.1"
server.port = ${port}
server.pid-file = "${dir}/lighttpd.pid"
server.errorlog = "${dir}/error.log"
server.upload-dirs = ( "${dir}" )
server.max-request-field-size = 65535
# Stream responses as they come (the default, 0, buffers the whole response before sending any of it).
server.stream-response-body = 2
server.modules = ( "mod_alias", "mod_cgi" )
alias.url = ( "/cgi-bin/" => "${dir}/cgi-bin/" )
cgi.assign = ( ".cgi" => "" )
`,
    );
    return startPeer('lighttpd', dir, [findBinary('lighttpd')!, '-D', '-f', conf], port);
  },
});
