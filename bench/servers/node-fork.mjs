// The floor of a master process: a parent that does nothing but `child_process.fork()` one child and
// wait, as the least any Node master of a forked worker can hold (`tsgi APP`'s master forks its worker
// the same way). The child is the node:net floor (bench/servers/node-net.mjs, same arguments), so the
// row also shows what the fork costs the responder. `npm run bench` reads each process's RSS with the
// group leader first: this parent is the first, as tsgi's master is in the tsgi row.
//
//   node bench/servers/node-fork.mjs PORT http|uwsgi|upload
//
// SIGTERM or SIGINT: the parent kills the child and exits; the parent exits too when the child does.
import { fork } from 'node:child_process';

const child = fork(new URL('./node-net.mjs', import.meta.url), process.argv.slice(2));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    child.kill('SIGTERM');
    process.exit(0);
  });
}
