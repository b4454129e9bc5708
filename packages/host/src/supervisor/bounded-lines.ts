/**
 * Splits a plugin's stdout or stderr into lines, none longer than a bound: a plugin that writes megabytes without a
 * newline must not make the host buffer them all (SPEC §1: one plugin's misbehaviour never takes the host down).
 * A longer line is cut at the bound and marked; the rest of it, up to the next newline, is skipped.
 */
import type { Readable } from "node:stream";

export const MAX_LINE_CHARS = 64 * 1024;

export function onBoundedLines(stream: Readable, onLine: (line: string) => void, maxChars = MAX_LINE_CHARS): void {
  let pending = "";
  let skipped = 0;
  const cut = () => {
    onLine(`${pending.slice(0, maxChars)} … [line cut at ${maxChars} characters]`);
    pending = "";
  };
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    let start = 0;
    for (let nl = chunk.indexOf("\n"); nl !== -1; nl = chunk.indexOf("\n", start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (skipped > 0) {
        skipped = 0;
        continue;
      }
      const line = (pending + piece).replace(/\r$/, "");
      pending = "";
      if (line.length > maxChars) {
        pending = line;
        cut();
      } else {
        onLine(line);
      }
    }
    if (start >= chunk.length) return;
    if (skipped > 0) {
      skipped += chunk.length - start;
      return;
    }
    pending += chunk.slice(start);
    if (pending.length > maxChars) {
      skipped = pending.length - maxChars;
      cut();
    }
  });
  stream.on("end", () => {
    if (pending && skipped === 0) onLine(pending);
    pending = "";
  });
}
