/** Where a server listens when told nothing else; a module of its own, so a client (the CLI's list, call) loads nothing else. */
export const DEFAULT_PORT = 48916;
export const DEFAULT_HOST = "127.0.0.1";
