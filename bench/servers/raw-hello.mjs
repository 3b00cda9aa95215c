// The reference: raw node:http serving the same bytes as examples/hello.ts through tsgi.
import http from 'node:http';
const body = Buffer.from('Hello, World!\n');
const port = Number(process.argv[2]);
http
  .createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  })
  .listen(port, '127.0.0.1', () => process.stderr.write(`Listening at: http://127.0.0.1:${port}\n`));
