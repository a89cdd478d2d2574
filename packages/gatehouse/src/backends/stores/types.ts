// The session model and the store contract are the session core's (src/session/model.ts): the
// back ends implement it. Re-exported here for the stores and their tests.
export { isLive, type SessionRecord, type SessionStore, type SessionUser } from '../../session/model.js';
