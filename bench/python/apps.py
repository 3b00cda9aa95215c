"""The WSGI applications the Python peers serve in `npm run bench` (bench/run.mjs).

Each one answers the same bytes as its tsgi and node:http counterparts:

  hello    b'Hello, World!\\n', text/plain, with Content-Length
  environ  the seed document's environ dump (the oracle's `application`, unchanged)
  mib      1 MiB of b'x', application/octet-stream, with Content-Length
  upload   reads the whole request body (CONTENT_LENGTH bytes), answers its length in decimal
  stream   100 MiB of b'x' in 64 KiB chunks from a generator, no Content-Length (the server frames it)
  multipart  a multipart/form-data body through Werkzeug's Request (werkzeug.formparser): counts its
           fields, files and file bytes (python3-werkzeug; the other apps do not need it)

Start them as `gunicorn apps:hello`, `uwsgi --wsgi-file apps.py --callable hello`,
`waitress-serve apps:hello`, from this folder.
"""

try:
    from werkzeug.wrappers import Request
except ImportError:  # only the multipart app needs it
    Request = None

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


def multipart(environ, start_response):
    # Request.form / Request.files parse the body with werkzeug.formparser, streaming: each file into
    # the default stream factory (a SpooledTemporaryFile, on disk past 500 KiB), removed by close().
    # Werkzeug's default limits (max_form_parts 1000: the 1,000-field form just fits).
    request = Request(environ)
    try:
        fields = sum(1 for _ in request.form.items(multi=True))
        files = size = 0
        for _, upload in request.files.items(multi=True):
            upload.stream.seek(0, 2)
            size += upload.stream.tell()
            files += 1
    finally:
        request.close()
    body = ('%d fields, %d files, %d file bytes\n' % (fields, files, size)).encode('ascii')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
