/**
 * Splits SQL text into its statements, each as the tokens `this.db` judges (SQLite offers no authorizer through
 * better-sqlite3, so the statements it refuses are found here): comments are dropped, a string literal becomes one
 * `'` token, a quoted identifier (`"x"`, `` `x` ``, `[x]`) keeps its text with `quoted` set, words are upper-cased,
 * and a `CREATE TRIGGER … BEGIN … END` stays one statement though its body holds `;`.
 */
export interface SqlToken {
  /** A word upper-cased, a quoted identifier's text, `'` for a string literal, or one punctuation character. */
  text: string;
  quoted: boolean;
}

const WORD = /[\p{L}\p{N}_$]/u;

export function sqlStatements(sql: string): SqlToken[][] {
  const statements: SqlToken[][] = [];
  let current: SqlToken[] = [];
  let caseDepth = 0;
  let triggerOpen = false;
  const finish = () => {
    if (current.length > 0) statements.push(current);
    current = [];
    caseDepth = 0;
    triggerOpen = false;
  };
  const push = (token: SqlToken) => {
    current.push(token);
    if (token.quoted) return;
    if (current.length <= 4 && token.text === "TRIGGER" && current[0].text === "CREATE") triggerOpen = true;
    else if (triggerOpen && token.text === "CASE") caseDepth++;
    else if (triggerOpen && token.text === "END") {
      if (caseDepth > 0) caseDepth--;
      else triggerOpen = false;
    }
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      let text = "";
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === close) {
          if (close !== "]" && sql[j + 1] === close) {
            text += close;
            j++;
            continue;
          }
          break;
        }
        text += sql[j];
      }
      i = j + 1;
      push(c === "'" ? { text: "'", quoted: false } : { text, quoted: true });
    } else if (c === ";") {
      i++;
      if (!triggerOpen) finish();
      else current.push({ text: ";", quoted: false });
    } else if (WORD.test(c)) {
      let j = i;
      while (j < sql.length && WORD.test(sql[j])) j++;
      push({ text: sql.slice(i, j).toUpperCase(), quoted: false });
      i = j;
    } else {
      push({ text: c, quoted: false });
      i++;
    }
  }
  finish();
  return statements;
}
