// Baseline: plain Fastify 5, logger off, answering GET /auth/session with a fixed JSON body
// (a copy of a real Gatehouse answer, passed by run.mjs in BENCH_BODY_FILE). The object is
// serialized per request, exactly as Gatehouse's route does for its (unschematized) answer.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { exitWithParent, report } from './child.mjs';

exitWithParent();

const file = process.env.BENCH_BODY_FILE;
if (!file) throw new Error('BENCH_BODY_FILE is not set');
const body = JSON.parse(readFileSync(file, 'utf8'));

const app = Fastify({ logger: false });
app.get('/auth/session', async () => body);

await app.listen({ host: '127.0.0.1', port: 0 });
report({ port: app.server.address().port });
