// tsgi's uwsgi door behind real lighttpd (mod_scgi with `scgi.protocol = "uwsgi"`).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { frontEndSuite } from './uwsgi-suite.js';
import { findBinary, startPeer } from './uwsgi-peers.js';

frontEndSuite({
  name: 'lighttpd',
  missing: () => (findBinary('lighttpd') ? null : 'lighttpd not installed (apt-get install lighttpd)'),
  // "fix-root-scriptname": an application mounted at "/" gets SCRIPT_NAME "" and the whole path.
  scriptName: '',
  pathInfo: '/app/path',
  chunked: 'de-chunked',
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
# Stream responses: with the default (0) lighttpd reads the whole response into temp files before
# sending it, and a client that leaves is not noticed until the backend has finished.
server.stream-response-body = 2
server.modules = ( "mod_scgi" )
scgi.protocol = "uwsgi"
scgi.server = ( "/" => ((
  "host" => "127.0.0.1", "port" => ${backend},
  "check-local" => "disable", "fix-root-scriptname" => "enable"
)) )
`,
    );
    return startPeer('lighttpd', dir, [findBinary('lighttpd')!, '-D', '-f', conf], port);
  },
});
