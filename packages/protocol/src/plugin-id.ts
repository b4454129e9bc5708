/** What a plugin id may be (SPEC §2.1): the manifest, the host and the wire all hold ids to it. */
export const PLUGIN_ID_PATTERN = /^[a-zA-Z0-9_-]{1,128}$/;
