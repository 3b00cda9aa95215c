// tsgi's uwsgi door behind the real uWSGI HTTP router (`uwsgi --http ... --http-to ...`).
import { frontEndSuite } from './uwsgi-suite.js';
import { findBinary, startPeer, uwsgiPlugin } from './uwsgi-peers.js';

frontEndSuite({
  name: 'the uWSGI HTTP router',
  missing: () => (findBinary('uwsgi') ? null : 'uwsgi not installed (apt-get install uwsgi-core)'),
  scriptName: '',
  pathInfo: '/app/path',
  // With --http-chunked-input the router forwards the raw chunked stream and tsgi de-chunks it.
  chunked: 'de-chunked',
  // The router passes a close-delimited response through as close-delimited, so the client cannot
  // tell a reset backend from a finished one (an application that sets Content-Length avoids this).
  brokenLooksComplete: true,
  start(dir, port, backend) {
    return startPeer(
      'uwsgi-router',
      dir,
      [
        findBinary('uwsgi')!,
        ...uwsgiPlugin('http'),
        '--http',
        `127.0.0.1:${port}`,
        '--http-to',
        `127.0.0.1:${backend}`,
        // Without it the router drops chunked request bodies (fixture uwsgi-router-chunked.bin).
        '--http-chunked-input',
        // The router reads request headers into this buffer (default 4 KiB): room for an 8 KB header.
        '--buffer-size',
        '32768',
        // No --master: a plain process to stop by pid. Without a master, uWSGI stays up only with
        // a socket of its own; this one idles on a kernel-chosen loopback port.
        '--socket',
        '127.0.0.1:0',
        '--disable-logging',
      ],
      port,
    );
  },
});
