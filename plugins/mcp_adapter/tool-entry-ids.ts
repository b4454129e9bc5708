/**
 * Entry ids for external MCP tools: `mcp_<server>_<tool>`, made to fit the entry id rule (`^[a-zA-Z0-9_.:-]{1,128}$`)
 * whatever the tool is called, and kept apart when two tools would get the same id.
 */
import { createHash } from "node:crypto";

export const ENTRY_ID = /^[a-zA-Z0-9_.:-]{1,128}$/;
const MAX_LENGTH = 128;
/** `_` and 8 hex digits. */
const SUFFIX_LENGTH = 9;

/**
 * The id a tool's entry is meant to have: every character outside the rule becomes `_`; an id that would be too long
 * is cut and ends with a short hash of the server and tool names, so different long names stay different.
 */
export function toolEntryId(server: string, tool: string): string {
  const id = `mcp_${server}_${tool}`.replace(/[^a-zA-Z0-9_.:-]/g, "_");
  return id.length <= MAX_LENGTH ? id : withSuffix(id, server, tool);
}

/**
 * The id for a tool whose plain id is taken (`isTaken`): the plain id when it is free, else the plain id with a hash
 * of the server and tool names, so the tool keeps the same id whichever order tools arrive in the next time.
 */
export function freeToolEntryId(server: string, tool: string, isTaken: (id: string) => boolean): string {
  const plain = toolEntryId(server, tool);
  if (!isTaken(plain)) return plain;
  const hashed = withSuffix(plain, server, tool);
  if (!isTaken(hashed)) return hashed;
  // Only a tool listed twice by one server gets here; number the copies.
  for (let n = 2; ; n++) {
    const numbered = withSuffix(plain, server, `${tool}\u0000${n}`);
    if (!isTaken(numbered)) return numbered;
  }
}

function withSuffix(id: string, server: string, tool: string): string {
  const hash = createHash("sha256").update(`${server}\u0000${tool}`).digest("hex").slice(0, 8);
  return `${id.slice(0, MAX_LENGTH - SUFFIX_LENGTH)}_${hash}`;
}
