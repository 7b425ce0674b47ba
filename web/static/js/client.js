// The connection of the signed-in user, for the modules that send requests.
// The Connection itself (conn.js) reports its state into state.connStatus;
// views read that, never this.

/** conn is the live Connection, or null when signed out. */
export let conn = null;

export function setConn(c) { conn = c; }

/** connected reports whether requests can be sent now. */
export function connected() { return !!(conn && conn.online); }
