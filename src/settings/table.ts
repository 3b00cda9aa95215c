// Every setting, declared once (gunicorn's config.py is the model). The CLI's flags and --help, the
// TSGI_* environment variables and docs/settings.md are all generated from this table.
// Doors take plain option objects; only the CLI (and the process model) read settings.

export type SettingType = 'string' | 'int' | 'number' | 'boolean' | 'list';

export interface Setting {
  /** camelCase key in the resolved settings object. */
  key: string;
  /** Long CLI flag without dashes. */
  flag: string;
  /** Short CLI flag, one letter. */
  short?: string;
  /** Environment variable(s) read, most specific first. */
  env: string[];
  type: SettingType;
  default: unknown;
  section: 'Server' | 'Limits' | 'Timeouts' | 'Logging';
  /** Placeholder shown in --help, e.g. HOST:PORT. */
  meta?: string;
  help: string;
  /** Checks a parsed value; returns an error message, or undefined when the value is fine. */
  validate?: (value: never) => string | undefined;
}

const positive = (v: number) => (Number.isInteger(v) && v > 0 ? undefined : 'must be a whole number above 0');
const nonNegative = (v: number) => (v >= 0 && Number.isFinite(v) ? undefined : 'must be a number of 0 or more');

export const SETTINGS: Setting[] = [
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
      'Where to listen: HOST:PORT, [IPv6]:PORT or PORT. Repeat the flag to listen on several addresses. ' +
      'PORT and HOST from the environment set the default (as on most platforms).',
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
    key: 'limitRequestLine',
    flag: 'limit-request-line',
    env: ['TSGI_LIMIT_REQUEST_LINE'],
    type: 'int',
    default: 8190,
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
    section: 'Limits',
    meta: 'BYTES',
    help: 'The largest request head (request line and headers); larger ones are answered 431.',
    validate: positive,
  },
  {
    key: 'headersTimeout',
    flag: 'headers-timeout',
    env: ['TSGI_HEADERS_TIMEOUT'],
    type: 'number',
    default: 10,
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
    section: 'Timeouts',
    meta: 'SECONDS',
    help: 'Seconds for a whole request (head and body) to arrive; 0 disables.',
    validate: nonNegative,
  },
  {
    key: 'keepAlive',
    flag: 'keep-alive',
    env: ['TSGI_KEEP_ALIVE'],
    type: 'number',
    default: 65,
    section: 'Timeouts',
    meta: 'SECONDS',
    help: 'Seconds an idle keep-alive connection stays open. Keep it above your load balancer\'s idle timeout (60 s on most).',
    validate: nonNegative,
  },
  {
    key: 'gracefulTimeout',
    flag: 'graceful-timeout',
    env: ['TSGI_GRACEFUL_TIMEOUT'],
    type: 'number',
    default: 30,
    section: 'Timeouts',
    meta: 'SECONDS',
    help: 'Seconds in-flight requests get to finish after SIGTERM or SIGINT; then their connections are cut.',
    validate: nonNegative,
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: ['TSGI_LOG_LEVEL'],
    type: 'string',
    default: 'info',
    section: 'Logging',
    meta: 'LEVEL',
    help: 'The least severe error-log messages shown: debug, info, warning, error or critical.',
    validate: (v: string) =>
      ['debug', 'info', 'warning', 'error', 'critical'].includes(v) ? undefined : 'must be one of debug, info, warning, error, critical',
  },
];
