// The reference for the seed demo: raw node:http building the same kind of dump (the CGI variables and
// headers of the request, sorted, between the banner lines) by hand, with no WSGI layer.
import http from 'node:http';
const port = Number(process.argv[2]);
const STARS = '*'.repeat(30);
http
  .createServer((req, res) => {
    const q = req.url.indexOf('?');
    const env = {
      REQUEST_METHOD: req.method,
      SCRIPT_NAME: '',
      PATH_INFO: q === -1 ? req.url : req.url.slice(0, q),
      QUERY_STRING: q === -1 ? '' : req.url.slice(q + 1),
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(port),
      SERVER_PROTOCOL: 'HTTP/' + req.httpVersion,
      REMOTE_ADDR: req.socket.remoteAddress,
      REMOTE_PORT: String(req.socket.remotePort),
      REQUEST_URI: req.url,
    };
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) env['HTTP_' + raw[i].toUpperCase().replace(/-/g, '_')] = raw[i + 1];
    const body = Object.keys(env).sort().map((k) => `${k}:${env[k]}`).join('\n');
    const data = Buffer.from(`The Begining\n${STARS}\n${body}\n${STARS}\nThe End`, 'latin1');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': data.length });
    res.end(data);
  })
  .listen(port, '127.0.0.1', () => process.stderr.write(`Listening at: http://127.0.0.1:${port}\n`));
