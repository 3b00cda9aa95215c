// tsgi's FastCGI door behind real lighttpd (mod_fastcgi). lighttpd opens a connection per request
// and never sets FCGI_KEEP_CONN.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fastcgiSuite } from './fastcgi-suite.js';
import { findBinary, startPeer } from './fastcgi-peers.js';

fastcgiSuite({
  name: 'lighttpd',
  missing: () => (findBinary('lighttpd') ? null : 'lighttpd not installed (apt-get install lighttpd)'),
  // "fix-root-scriptname": an application mounted at "/" gets SCRIPT_NAME "" and the whole path.
  scriptName: '',
  pathInfo: '/app/path',
  reuses: false,
  exclusions: [],
  // lighttpd 1.4.69: when the first body bytes and the backend's reset arrive before it has sent the
  // response head, it sends what it has with a Content-Length (and logs the backend error), so the
  // client cannot tell; when the head has gone out, it cuts a chunked body. Seen 2 times in ~20 runs
  // on a loaded machine.
  cutMayLookWhole: { why: 'lighttpd framed the partial body with a Content-Length', logShows: /backend returned error|Connection reset by peer/ },
  start(dir, port, backend) {
    const conf = path.join(dir, 'lighttpd.conf');
    writeFileSync(
      conf,
      `server.document-root = "${dir}"
server.bind = "127.0.0.1"
server.port = ${port}
server.pid-file = "${dir}/lighttpd.pid"
server.errorlog = "${dir}/error.log"
server.upload-dirs = ( "${dir}" )
# lighttpd's default (8 KiB for all header lines together) is too small for an 8 KB header.
server.max-request-field-size = 65535
# Stream responses as they come (the default, 0, buffers the whole response before sending any of it).
server.stream-response-body = 2
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/" => ((
  "host" => "127.0.0.1", "port" => ${backend},
  "check-local" => "disable", "fix-root-scriptname" => "enable"
)) )
`,
    );
    return startPeer('lighttpd', dir, [findBinary('lighttpd')!, '-D', '-f', conf], port);
  },
});
