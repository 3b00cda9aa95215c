// Every setting, declared once (gunicorn's config.py is the model). The CLI's flags and --help, the
// config file's keys (and their TypeScript type), the TSGI_* environment variables, --print-config
// and docs/settings.md are all generated from this table, and so are the library's defaults: doors
// take plain option objects whose defaults ./defaults.ts converts from these rows (seconds become
// milliseconds once, there), so serve(), the doors and the CLI start from the same numbers.
// This file imports nothing, so the lowest layers can read it (scripts/check-layers.mjs holds it to that).

export type SettingType = 'string' | 'int' | 'number' | 'boolean' | 'list';

export type Section = 'Server' | 'Workers' | 'Sockets' | 'Limits' | 'Timeouts' | 'Logging' | 'Development' | 'Config';

/** What a number setting counts: the unit people write it in (./defaults.ts converts to the options' units). */
export type Unit = 's' | 'ms' | 'bytes' | 'MiB' | 'count';

export interface Setting {
  /** camelCase key in the resolved settings object and in the config file. */
  key: string;
  /** Long CLI flag without dashes. */
  flag: string;
  /** Short CLI flag, one letter. */
  short?: string;
  /** Environment variable(s) read, most specific first. Empty for command-line-only actions. */
  env: readonly string[];
  type: SettingType;
  default: unknown;
  /** For a number: its unit, as written in flags, the environment and config files. */
  unit?: Unit;
  /** For a string that is one of a list: the list (its TypeScript type is then their union). */
  choices?: readonly string[];
  section: Section;
  /** Placeholder shown in --help, e.g. HOST:PORT. */
  meta?: string;
  help: string;
  /** Only on the command line (an action such as --print-config), never in a config file. */
  cliOnly?: boolean;
  /** Checks a parsed value; returns why it is wrong (naming the allowed values), or undefined. */
  validate?: (value: never) => string | undefined;
}

const positive = (v: number) => (Number.isInteger(v) && v > 0 ? undefined : 'must be a whole number above 0');
const wholeNonNegative = (v: number) => (Number.isInteger(v) && v >= 0 ? undefined : 'must be a whole number of 0 or more');
const nonNegative = (v: number) => (v >= 0 && Number.isFinite(v) ? undefined : 'must be a number of 0 or more');

/** A user or group: a numeric id, or a name as useradd(8) allows it. */
const ACCOUNT = /^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/;

export const SETTINGS = [
  // ---------------------------------------------------------------- Server
  {
    key: 'bind',
    flag: 'bind',
    short: 'b',
    env: ['TSGI_BIND'],
    type: 'list',
    default: ['127.0.0.1:8000'],
    section: 'Server',
    meta: 'ADDRESS',
    help:
      'Where to listen: HOST:PORT, [IPv6]:PORT, PORT, unix:PATH or fd://N (an inherited socket), optionally ' +
      'prefixed with the protocol: http:// (the default), uwsgi:// or fastcgi://. Repeat the flag to listen on ' +
      'several addresses. PORT and HOST from the environment set the default (as on most platforms); sockets ' +
      'passed by systemd (LISTEN_FDS) are used when no bind is given.',
  },
  {
    key: 'engine',
    flag: 'engine',
    env: ['TSGI_ENGINE'],
    type: 'string',
    default: 'net',
    section: 'Server',
    meta: 'ENGINE',
    help:
      "The HTTP/1.1 implementation of http:// binds: net (tsgi's own strict parser and connection handling on " +
      'node:net, the faster) or node (node:http); see docs/engine.md. Both pass the same test suites.',
    choices: ['node', 'net'],
  },
  {
    key: 'serverName',
    flag: 'server-name',
    env: ['TSGI_SERVER_NAME'],
    type: 'string',
    default: '',
    section: 'Server',
    meta: 'NAME',
    help: 'SERVER_NAME for the application; the bind address when empty. Never taken from the Host header.',
  },
  {
    key: 'scriptName',
    flag: 'script-name',
    env: ['TSGI_SCRIPT_NAME', 'SCRIPT_NAME'],
    type: 'string',
    default: '',
    section: 'Server',
    meta: 'PATH',
    help: 'SCRIPT_NAME for every request: the path the application is mounted at behind a proxy.',
    validate: (v: string) => (v === '' || (v.startsWith('/') && !v.endsWith('/')) ? undefined : "must start with '/' and not end with '/'"),
  },
  {
    key: 'forwardedAllowIps',
    flag: 'forwarded-allow-ips',
    env: ['TSGI_FORWARDED_ALLOW_IPS', 'FORWARDED_ALLOW_IPS'],
    type: 'string',
    default: '127.0.0.1,::1',
    section: 'Server',
    meta: 'ADDRESSES',
    help:
      'Peers whose X-Forwarded-*/Forwarded headers the proxy middleware trusts: comma-separated addresses or ' +
      'CIDR blocks, or * for any (only when nothing but your proxy can reach tsgi).',
  },
  {
    key: 'certfile',
    flag: 'certfile',
    env: ['TSGI_CERTFILE'],
    type: 'string',
    default: '',
    section: 'Server',
    meta: 'FILE',
    help: 'TLS certificate chain (PEM). With --keyfile, every HTTP bind speaks HTTPS.',
  },
  {
    key: 'keyfile',
    flag: 'keyfile',
    env: ['TSGI_KEYFILE'],
    type: 'string',
    default: '',
    section: 'Server',
    meta: 'FILE',
    help: 'TLS private key (PEM) for --certfile.',
  },
  {
    key: 'pidfile',
    flag: 'pidfile',
    short: 'p',
    env: ['TSGI_PIDFILE'],
    type: 'string',
    default: '',
    section: 'Server',
    meta: 'FILE',
    help: "A file to write the master's pid to; removed at exit. Refused while another live tsgi holds it.",
  },
  // ---------------------------------------------------------------- Workers
  {
    key: 'workers',
    flag: 'workers',
    short: 'w',
    env: ['TSGI_WORKERS', 'WEB_CONCURRENCY'],
    type: 'int',
    default: 1,
    unit: 'count',
    section: 'Workers',
    meta: 'N',
    help: 'Worker processes serving requests. Each is one event loop, so about one per CPU core. SIGTTIN and ' + 'SIGTTOU add and remove one at run time.',
    validate: positive,
  },
  {
    key: 'singleProcess',
    flag: 'single-process',
    env: ['TSGI_SINGLE_PROCESS'],
    type: 'boolean',
    default: false,
    section: 'Workers',
    help:
      'Serve in this one process: no master, no worker processes, no heartbeat. For a container whose ' +
      'orchestrator restarts it, and for debugging (--inspect). SIGTERM stops gracefully; SIGHUP cannot reload.',
  },
  {
    key: 'maxRequests',
    flag: 'max-requests',
    env: ['TSGI_MAX_REQUESTS'],
    type: 'int',
    default: 0,
    unit: 'count',
    section: 'Workers',
    meta: 'N',
    help:
      'Replace a worker after it has served about this many requests (contains slow memory leaks). The ' +
      'replacement starts first and the response in flight always completes. 0 disables.',
    validate: wholeNonNegative,
  },
  {
    key: 'maxRequestsJitter',
    flag: 'max-requests-jitter',
    env: ['TSGI_MAX_REQUESTS_JITTER'],
    type: 'int',
    default: 0,
    unit: 'count',
    section: 'Workers',
    meta: 'N',
    help: "Adds a random 0..N to each worker's max-requests so workers do not all restart at once. Ignored when max-requests is 0.",
    validate: wholeNonNegative,
  },
  {
    key: 'maxRss',
    flag: 'max-rss',
    env: ['TSGI_MAX_RSS'],
    type: 'int',
    default: 0,
    unit: 'MiB',
    section: 'Workers',
    meta: 'MIB',
    help: "Replace a worker whose resident memory grows above this many MiB (as uWSGI's reload-on-rss). 0 disables.",
    validate: wholeNonNegative,
  },
  // ---------------------------------------------------------------- Sockets
  {
    key: 'backlog',
    flag: 'backlog',
    env: ['TSGI_BACKLOG'],
    type: 'int',
    default: 2048,
    unit: 'count',
    section: 'Sockets',
    meta: 'N',
    help: 'Connections the kernel queues for the workers to accept.',
    validate: positive,
  },
  {
    key: 'bindRetries',
    flag: 'bind-retries',
    env: ['TSGI_BIND_RETRIES'],
    type: 'int',
    default: 5,
    unit: 'count',
    section: 'Sockets',
    meta: 'N',
    help: 'Times to retry, one second apart, an address that is in use (a previous server may still be letting go of it).',
    validate: wholeNonNegative,
  },
  {
    key: 'socketMode',
    flag: 'socket-mode',
    env: ['TSGI_SOCKET_MODE'],
    type: 'string',
    default: '',
    section: 'Sockets',
    meta: 'OCTAL',
    help: "File mode of unix: sockets, e.g. 660 so that the web server's group can connect. Empty: as the umask leaves it.",
    validate: (v: string) => (v === '' || /^0?[0-7]{3}$/.test(v) ? undefined : 'must be an octal file mode such as 660 or 0660'),
  },
  {
    key: 'socketOwner',
    flag: 'socket-owner',
    env: ['TSGI_SOCKET_OWNER'],
    type: 'string',
    default: '',
    section: 'Sockets',
    meta: 'USER',
    help: 'User (name or numeric id) to give unix: sockets, e.g. www-data (needs the privilege to chown: run the master as root).',
    validate: (v: string) => (v === '' || ACCOUNT.test(v) ? undefined : 'must be a user name or a numeric user id'),
  },
  {
    key: 'socketGroup',
    flag: 'socket-group',
    env: ['TSGI_SOCKET_GROUP'],
    type: 'string',
    default: '',
    section: 'Sockets',
    meta: 'GROUP',
    help: "Group (name or numeric id) to give unix: sockets, e.g. the web server's group www-data; with --socket-mode 660 only that group can connect.",
    validate: (v: string) => (v === '' || ACCOUNT.test(v) ? undefined : 'must be a group name or a numeric group id'),
  },
  // ---------------------------------------------------------------- Limits
  {
    key: 'limitRequestLine',
    flag: 'limit-request-line',
    env: ['TSGI_LIMIT_REQUEST_LINE'],
    type: 'int',
    default: 8190,
    unit: 'bytes',
    section: 'Limits',
    meta: 'BYTES',
    help: 'The longest request target; longer ones are answered 414.',
    validate: positive,
  },
  {
    key: 'limitRequestFields',
    flag: 'limit-request-fields',
    env: ['TSGI_LIMIT_REQUEST_FIELDS'],
    type: 'int',
    default: 100,
    unit: 'count',
    section: 'Limits',
    meta: 'N',
    help: 'The most header fields in a request; more are answered 431 (never silently dropped).',
    validate: positive,
  },
  {
    key: 'maxHeaderSize',
    flag: 'max-header-size',
    env: ['TSGI_MAX_HEADER_SIZE'],
    type: 'int',
    default: 16384,
    unit: 'bytes',
    section: 'Limits',
    meta: 'BYTES',
    help: 'The largest request head (request line and headers); larger ones are answered 431.',
    validate: positive,
  },
  // ---------------------------------------------------------------- Timeouts
  {
    key: 'timeout',
    flag: 'timeout',
    short: 't',
    env: ['TSGI_TIMEOUT'],
    type: 'number',
    default: 30,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help:
      "Seconds a worker's event loop may stay blocked (synchronous code that never yields) before the worker " +
      'logs the request it is stuck in and is replaced. Not a request timeout: slow and streaming responses ' +
      'keep the loop turning and are never killed by it. 0 disables.',
    validate: nonNegative,
  },
  {
    key: 'headersTimeout',
    flag: 'headers-timeout',
    env: ['TSGI_HEADERS_TIMEOUT'],
    type: 'number',
    default: 10,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help: 'Seconds for a request head to arrive (slowloris defence); then 408 and the connection closes.',
    validate: (v: number) => (v > 0 ? undefined : 'must be above 0'),
  },
  {
    key: 'bodyTimeout',
    flag: 'body-timeout',
    env: ['TSGI_BODY_TIMEOUT'],
    type: 'number',
    default: 30,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help: 'Seconds the request body may stall while the application waits for it; then 408. 0 disables.',
    validate: nonNegative,
  },
  {
    key: 'requestTimeout',
    flag: 'request-timeout',
    env: ['TSGI_REQUEST_TIMEOUT'],
    type: 'number',
    default: 300,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help: 'Seconds for a whole request (head and body) to arrive; 0 disables.',
    validate: nonNegative,
  },
  {
    key: 'responseTimeout',
    flag: 'response-timeout',
    env: ['TSGI_RESPONSE_TIMEOUT'],
    type: 'number',
    default: 0,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help:
      'Seconds an application may take to start its response before the client gets 503 and the connection closes; 0 disables. ' +
      "A response that has started (a stream) is never cut. A blocked event loop is --timeout's job.",
    validate: nonNegative,
  },
  {
    key: 'keepAlive',
    flag: 'keep-alive',
    env: ['TSGI_KEEP_ALIVE'],
    type: 'number',
    default: 65,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help: "Seconds an idle keep-alive connection stays open. Keep it above your load balancer's idle timeout (60 s on most).",
    validate: nonNegative,
  },
  {
    key: 'sendTimeout',
    flag: 'send-timeout',
    env: ['TSGI_SEND_TIMEOUT'],
    type: 'number',
    default: 60,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help:
      'Seconds a response may wait for the client to read any of it (nginx: send_timeout). A client that stops ' +
      'reading is disconnected, and the body is closed; the keep-alive timeout counts only once a response is sent. 0 for no limit.',
    validate: nonNegative,
  },
  {
    key: 'handshakeTimeout',
    flag: 'handshake-timeout',
    env: ['TSGI_HANDSHAKE_TIMEOUT'],
    type: 'number',
    default: 10,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help: 'Seconds a TLS client has to finish its handshake (a connection that never sends a ClientHello is closed).',
    validate: positive,
  },
  {
    key: 'gracefulTimeout',
    flag: 'graceful-timeout',
    env: ['TSGI_GRACEFUL_TIMEOUT'],
    type: 'number',
    default: 30,
    unit: 's',
    section: 'Timeouts',
    meta: 'SECONDS',
    help:
      'Seconds in-flight requests get to finish after SIGTERM, or in a worker being replaced (SIGHUP, ' +
      'max-requests); then their connections are cut and the worker is killed.',
    validate: nonNegative,
  },
  // ---------------------------------------------------------------- Logging
  {
    key: 'logLevel',
    flag: 'log-level',
    env: ['TSGI_LOG_LEVEL'],
    type: 'string',
    default: 'info',
    section: 'Logging',
    meta: 'LEVEL',
    help: 'The least severe error-log messages shown: debug, info, warning, error or critical.',
    choices: ['debug', 'info', 'warning', 'error', 'critical'],
  },
  {
    key: 'errorLog',
    flag: 'error-log',
    env: ['TSGI_ERROR_LOG'],
    type: 'string',
    default: '-',
    section: 'Logging',
    meta: 'FILE',
    help: 'Where the error log goes: a file (appended to; reopened on SIGUSR1), or - for stderr.',
  },
  {
    key: 'accessLog',
    flag: 'access-log',
    env: ['TSGI_ACCESS_LOG'],
    type: 'string',
    default: '',
    section: 'Logging',
    meta: 'FILE',
    help: 'Where the access log goes: a file (appended to; reopened on SIGUSR1), or - for stdout. Empty: no access log.',
  },
  {
    key: 'accessLogFormat',
    flag: 'access-log-format',
    env: ['TSGI_ACCESS_LOG_FORMAT'],
    type: 'string',
    default: 'combined',
    section: 'Logging',
    meta: 'FORMAT',
    help: 'Access log line format: combined (Apache/nginx combined), common, or json (one JSON object a line).',
    choices: ['combined', 'common', 'json'],
  },
  {
    key: 'metricsBind',
    flag: 'metrics-bind',
    env: ['TSGI_METRICS_BIND'],
    type: 'string',
    default: '',
    section: 'Logging',
    meta: 'HOST:PORT',
    help:
      'Serve Prometheus metrics (requests, statuses, durations, busy and idle workers, restarts) summed over ' +
      'all workers at http://HOST:PORT/metrics, from the master. Empty: off.',
  },
  // ---------------------------------------------------------------- Development
  {
    key: 'reload',
    flag: 'reload',
    env: ['TSGI_RELOAD'],
    type: 'boolean',
    default: false,
    section: 'Development',
    help:
      'Development: replace the workers when a source file changes (native file events, debounced). ' +
      'node_modules and .git are never watched. Not for production.',
  },
  {
    key: 'inspect',
    flag: 'inspect',
    env: ['TSGI_INSPECT'],
    type: 'boolean',
    default: false,
    section: 'Development',
    help:
      "Development: open Node's inspector (on 127.0.0.1:9229, or the port of NODE_OPTIONS' --inspect-port) in " +
      'the process that runs the application, so a debugger reaches it. Implies --single-process.',
  },
  {
    key: 'reloadInclude',
    flag: 'reload-include',
    env: ['TSGI_RELOAD_INCLUDE'],
    type: 'list',
    default: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts', '**/*.js', '**/*.mjs', '**/*.cjs', '**/*.json'],
    section: 'Development',
    meta: 'GLOB',
    help: 'With --reload: files whose change triggers a reload (globs relative to the working directory; repeatable).',
  },
  {
    key: 'reloadExclude',
    flag: 'reload-exclude',
    env: ['TSGI_RELOAD_EXCLUDE'],
    type: 'list',
    default: [],
    section: 'Development',
    meta: 'GLOB',
    help: 'With --reload: files to ignore even when included, e.g. **/*.test.ts (repeatable).',
  },
  // ---------------------------------------------------------------- Config
  {
    key: 'config',
    flag: 'config',
    short: 'c',
    env: ['TSGI_CONFIG'],
    type: 'string',
    default: '',
    section: 'Config',
    meta: 'FILE',
    help:
      'The config file: tsgi.config.ts, .mts, .cts, .js, .mjs, .cjs or .json (found in the working directory when not given). ' +
      'Precedence: defaults < config file < environment < command line.',
  },
  {
    key: 'printConfig',
    flag: 'print-config',
    env: [],
    type: 'boolean',
    default: false,
    section: 'Config',
    help: 'Print every setting with its value and where it came from, then exit.',
    cliOnly: true,
  },
  {
    key: 'checkConfig',
    flag: 'check-config',
    env: [],
    type: 'boolean',
    default: false,
    section: 'Config',
    help: 'Check the settings and that the application loads, then exit (0 when all is well).',
    cliOnly: true,
  },
] as const satisfies readonly Setting[];

type TypeOf<T extends SettingType> = T extends 'int' | 'number' ? number : T extends 'boolean' ? boolean : T extends 'list' ? string[] : string;
/** A row's value type: the union of its choices when it has them (`engine` is `'node' | 'net'`), else its type's. */
type ValueOf<S> = S extends { choices: readonly (infer C)[] } ? C : S extends { type: infer T extends SettingType } ? TypeOf<T> : never;

/** The resolved settings: one typed property per row of the table. */
export type Settings = { [S in (typeof SETTINGS)[number] as S['key']]: ValueOf<S> };

/** What a config file may set (every setting but the command-line actions). */
export type ConfigFile = Partial<Omit<Settings, 'printConfig' | 'checkConfig' | 'config'>>;
