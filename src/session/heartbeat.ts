/** The ambient heartbeat interval when none is given (`--heartbeat`); 3 silent intervals = gone. */
export const DEFAULT_HEARTBEAT_MS = 2000;
