/**
 * The bound on what an entry's (or event's) descriptor may carry as `metadata` and `inputSchema`: `/plugins` echoes
 * them on every listing, so a plugin must not make each one megabytes long, or too deep to write out. The host checks
 * every `hello` and `entries_changed` against it; the SDKs check a dynamic entry before they send the list.
 */

/** The most a descriptor's `metadata` or `inputSchema` may take as compact JSON (UTF-8). */
export const MAX_DESCRIPTOR_JSON_BYTES = 64 * 1024;
/** How deep it may nest (objects and arrays). */
export const MAX_DESCRIPTOR_JSON_DEPTH = 64;

/** What is wrong with `value` as a descriptor's metadata or schema ("is 70011 bytes as JSON: …"), or undefined. */
export function descriptorJsonProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  // Walked without recursion: a value nested 100 000 deep must not overflow the stack here.
  const pending: Array<[object, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop() as [object, number];
    if (depth > MAX_DESCRIPTOR_JSON_DEPTH) return `nests deeper than ${MAX_DESCRIPTOR_JSON_DEPTH} levels`;
    if (ArrayBuffer.isView(node)) continue; // bytes: counted by their JSON below
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) pending.push([child, depth + 1]);
    }
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return "cannot be written as JSON";
  }
  const bytes = Buffer.byteLength(text ?? "", "utf8");
  return bytes > MAX_DESCRIPTOR_JSON_BYTES
    ? `is ${bytes} bytes as JSON: at most ${MAX_DESCRIPTOR_JSON_BYTES} are allowed`
    : undefined;
}
