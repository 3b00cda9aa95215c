// The CGI gateway: an application run as a CGI script, as wsgiref's CGIHandler runs one. From code:
// `await runCgi(app)`; as a script: `#!/usr/bin/env -S npx tsgi-cgi app.ts` (src/cgi/bin.ts).
// docs/deploy.md (## CGI) shows Apache and lighttpd configurations.
export { runCgi, nativeEnv, type CgiOptions } from './run.js';
export { cgiEnviron, CGI_RULES, type CgiBase, type CgiRequest } from './environ.js';
