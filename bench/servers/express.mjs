// The classic Node stack a user would pick instead of Gatehouse: Express 5 + express-session +
// connect-redis 9 on the same Redis. GET /auth/session answers the same JSON body as Gatehouse
// (a copy, from BENCH_BODY_FILE) when the session holds a user, 401 otherwise; POST /auth/login
// puts the bench user in a fresh session (no password hashing: logins are not measured).
//
// Settings a production app would use: resave false, saveUninitialized false, rolling idle
// expiry (connect-redis touches the TTL on each request), httpOnly + sameSite strict. The cookie
// is not `secure` because the benchmark is plain HTTP on loopback (as for Gatehouse), and no
// security headers are sent (Gatehouse sends nine): both favour this baseline.
import { readFileSync } from 'node:fs';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { exitWithParent, report } from './child.mjs';

exitWithParent();

const body = JSON.parse(readFileSync(required('BENCH_BODY_FILE'), 'utf8'));
const client = createClient({ url: required('BENCH_REDIS_URL') });
await client.connect();

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '8kb' }));
app.use(
  session({
    name: 'bench.sid',
    secret: 'bench secret, not for production use, long enough',
    store: new RedisStore({ client, prefix: required('BENCH_REDIS_PREFIX') }),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: { httpOnly: true, sameSite: 'strict', secure: false, maxAge: 30 * 60_000 },
  }),
);

app.post('/auth/login', (req, res, next) => {
  if (req.body?.username !== process.env.BENCH_USERNAME || req.body?.password !== process.env.BENCH_PASSWORD) {
    return res.status(401).json({ error: 'invalid_credentials' });
  }
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.user = body.user;
    res.json({ user: body.user });
  });
});

app.get('/auth/session', (req, res) => {
  if (!req.session.user) return res.status(401).json({ error: 'unauthenticated' });
  res.json(body);
});

const server = app.listen(0, '127.0.0.1', () => report({ port: server.address().port }));

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
