// Request bodies cut into tiny pieces, on both HTTP engines in one file (test/helpers/body-faults.ts
// says what each case reproduces and the bound it holds).
import { bodyFaultSuite } from '../helpers/body-faults.js';

bodyFaultSuite('net');
bodyFaultSuite('node');
