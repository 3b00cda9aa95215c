"""The WSGI applications the Python peers serve in `npm run bench` (bench/run.mjs).

Each one answers the same bytes as its tsgi and node:http counterparts:

  hello    b'Hello, World!\\n', text/plain, with Content-Length
  environ  the seed document's environ dump (the oracle's `application`, unchanged)
  mib      1 MiB of b'x', application/octet-stream, with Content-Length
  upload   reads the whole request body (CONTENT_LENGTH bytes), answers its length in decimal
  stream   100 MiB of b'x' in 64 KiB chunks from a generator, no Content-Length (the server frames it)

Start them as `gunicorn apps:hello`, `uwsgi --wsgi-file apps.py --callable hello`,
`waitress-serve apps:hello`, from this folder.
"""

HELLO = b'Hello, World!\n'
MIB = b'x' * (1024 * 1024)
CHUNK = b'x' * (64 * 1024)
CHUNKS = 1600  # 1600 x 64 KiB = 100 MiB


def hello(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(HELLO)))])
    return [HELLO]


# The seed document's application, fixed for Python 3 (as /work/shared/oracle/app.py has it).
def environ(environ, start_response):
    body = '\n'.join('%s:%s' % (k, v) for k, v in sorted(environ.items()))
    parts = ['The Begining\n', '*' * 30 + '\n', body, '\n' + '*' * 30, '\nThe End']
    data = [p.encode('latin-1', 'backslashreplace') for p in parts]
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(sum(map(len, data))))])
    return data


application = environ


def mib(environ, start_response):
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(len(MIB)))])
    return [MIB]


def upload(environ, start_response):
    try:
        length = int(environ.get('CONTENT_LENGTH') or 0)
    except ValueError:
        length = 0
    # Every byte read in 64 KiB pieces and counted, none kept: the same work as the node:http
    # reference and the tsgi app.
    stream, n = environ['wsgi.input'], 0
    while n < length:
        piece = stream.read(min(65536, length - n))
        if not piece:
            break
        n += len(piece)
    body = str(n).encode('ascii')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def _chunks():
    for _ in range(CHUNKS):
        yield CHUNK


def stream(environ, start_response):
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return _chunks()
