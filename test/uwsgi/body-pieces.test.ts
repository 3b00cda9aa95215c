// Request bodies cut into tiny pieces on the uwsgi door: the uWSGI router's --http-chunked-input
// forwards one-byte chunks as the client sent them (test/helpers/body-faults.ts says what each case
// reproduces and the bound it holds).
import { bodyFaultSuite } from '../helpers/body-faults.js';

bodyFaultSuite('uwsgi');
