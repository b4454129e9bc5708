/**
 * Columns of text for a terminal or a pipe: aligned, with colour only when the stream is a terminal and `NO_COLOR`
 * is not set (https://no-color.org).
 */

export type Paint = (text: string, colour: Colour) => string;
export type Colour = "bold" | "dim" | "green" | "yellow" | "red" | "cyan";

const CODES: Record<Colour, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  green: [32, 39],
  yellow: [33, 39],
  red: [31, 39],
  cyan: [36, 39],
};

/** Colours for `stream` when it is a terminal, or a paint that leaves text as it is. */
export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  if (stream.isTTY !== true || env.NO_COLOR) return (text) => text;
  return (text, colour) => `\u001b[${CODES[colour][0]}m${text}\u001b[${CODES[colour][1]}m`;
}

/** A plugin state's colour: green when it serves, red when it failed, yellow in between. */
export function stateColour(state: string): Colour {
  if (state === "running") return "green";
  if (["crashed", "failed", "refused", "quarantined", "unreachable"].includes(state)) return "red";
  if (state === "stopped" || state === "disabled") return "dim";
  return "yellow";
}

/**
 * Rows under a header, each column as wide as its widest cell; the last column is not padded. `paint` colours a cell
 * after the width is measured, so escape codes never shift the columns.
 */
/**
 * A value from the server (a plugin's name, status, reason, an error message) as text safe to print on a terminal:
 * control characters (escape sequences, newlines that would fake rows) shown as `\xNN`.
 */
export function terminalSafe(value: unknown): string {
  const text = typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
    /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

export function formatTable(options: {
  header: string[];
  rows: string[][];
  paint: Paint;
  colourOf?: (column: number, cell: string) => Colour | undefined;
}): string {
  const { header, paint, colourOf } = options;
  const rows = options.rows.map((row) => row.map(terminalSafe));
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[], colour: (i: number, cell: string) => Colour | undefined) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]);
        const c = colour(i, cell);
        return c ? paint(padded, c) : padded;
      })
      .join("  ")
      .trimEnd();
  return [line(header, () => "bold"), ...rows.map((row) => line(row, (i, cell) => colourOf?.(i, cell)))].join("\n");
}
