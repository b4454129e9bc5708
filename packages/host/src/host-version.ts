/** The host's version, in a module of its own so that what only needs the number (the CLI's --version) loads nothing else. */
export const HOST_VERSION = "0.1.0";
