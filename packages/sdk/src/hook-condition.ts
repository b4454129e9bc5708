/**
 * Hook conditions (SPEC §3.3): a small expression language over `args` and `entryId`, compiled once when the class is
 * defined and evaluated on every call without `eval`. Tokenizer → recursive-descent parser → tree evaluator.
 *
 *   args.mode == 'fast' && !(args.dryRun == true) || entryId in ['save', 'load']
 *
 * Literals (strings, numbers, true/false/null, [lists]), member access (`a.b`, `a['b']`, own properties only),
 * `! - && || == != === !== < <= > >= in` and parentheses. No calls, no assignment, no other names. Evaluation never
 * throws: a missing property is `undefined`, a comparison of mixed types is false.
 */

export interface HookConditionScope {
  args: unknown;
  entryId: string;
}

export interface HookCondition {
  readonly source: string;
  evaluate(scope: HookConditionScope): boolean;
}

/** A condition that cannot be compiled; `position` is 1-based, into the condition's text. */
export class HookConditionError extends SyntaxError {
  constructor(
    readonly reason: string,
    readonly position: number,
    readonly source: string,
  ) {
    super(`${reason} at position ${position} of "${source}"`);
    this.name = "HookConditionError";
  }
}

const MAX_LENGTH = 1000;
const MAX_DEPTH = 32;
const ROOTS = new Set(["args", "entryId"]);
const KEYWORDS: Record<string, unknown> = { true: true, false: false, null: null };

type Token =
  | { kind: "number"; value: number; pos: number }
  | { kind: "string"; value: string; pos: number }
  | { kind: "name"; value: string; pos: number }
  | { kind: "op"; value: string; pos: number }
  | { kind: "end"; pos: number };

type Node =
  | { type: "literal"; value: unknown }
  | { type: "root"; name: string }
  | { type: "list"; items: Node[] }
  | { type: "member"; object: Node; key: Node }
  | { type: "not"; operand: Node }
  | { type: "negate"; operand: Node }
  | { type: "logical"; op: "&&" | "||"; left: Node; right: Node }
  | { type: "compare"; op: string; left: Node; right: Node };

// Longest first, so `===` wins over `==` and `<=` over `<`.
const OPERATORS = ["===", "!==", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "-", ".", ",", "(", ")", "[", "]"];
const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' };
const COMPARISONS = new Set(["==", "!=", "===", "!==", "<", "<=", ">", ">=", "in"]);
const FORBIDDEN: Record<string, string> = {
  "=": "assignment is not allowed",
  "+": "arithmetic is not allowed",
  "*": "arithmetic is not allowed",
  "/": "arithmetic is not allowed",
  "%": "arithmetic is not allowed",
  "?": "the ?: operator is not allowed",
  "`": "template strings are not allowed",
  ";": "only one expression is allowed",
  "{": "object literals are not allowed",
};

/** Compiles `source`; throws `HookConditionError` naming the problem and its position. */
export function compileHookCondition(source: string): HookCondition {
  if (typeof source !== "string") throw new TypeError("a hook condition must be a string");
  if (source.length > MAX_LENGTH) {
    throw new HookConditionError(`the condition is longer than ${MAX_LENGTH} characters`, MAX_LENGTH + 1, source);
  }
  const tokens = tokenize(source);
  const tree = new Parser(tokens, source).parseCondition();
  return { source, evaluate: (scope) => truthy(evaluate(tree, scope)) };
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (reason: string, at = i): never => {
    throw new HookConditionError(reason, at + 1, source);
  };
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(source[i + 1] ?? ""))) {
      const match = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(source.slice(i));
      const text = match?.[0] ?? c;
      if (/[A-Za-z_$]/.test(source[i + text.length] ?? "")) fail(`malformed number '${text}…'`);
      tokens.push({ kind: "number", value: Number(text), pos: i });
      i += text.length;
      continue;
    }
    if (c === "'" || c === '"') {
      const start = i;
      let value = "";
      i += 1;
      for (;;) {
        if (i >= source.length) fail("unterminated string", start);
        const ch = source[i];
        if (ch === c) break;
        if (ch === "\\") {
          const next = source[i + 1];
          if (next === undefined || !Object.hasOwn(ESCAPES, next)) fail(`unknown escape '\\${next ?? ""}' in a string`);
          value += ESCAPES[next];
          i += 2;
          continue;
        }
        value += ch;
        i += 1;
      }
      i += 1;
      tokens.push({ kind: "string", value, pos: start });
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const name = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(source.slice(i))![0];
      tokens.push({ kind: "name", value: name, pos: i });
      i += name.length;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op) {
      tokens.push({ kind: "op", value: op, pos: i });
      i += op.length;
      continue;
    }
    if (c === "=") fail(source[i + 1] === ">" ? "arrow functions are not allowed" : FORBIDDEN["="]);
    if (c === "&" || c === "|") fail(`'${c}' is not an operator here; use '${c}${c}'`);
    fail(FORBIDDEN[c] ?? `unexpected character '${c}'`);
  }
  tokens.push({ kind: "end", pos: source.length });
  return tokens;
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parseCondition(): Node {
    if (this.peek().kind === "end") this.fail("the condition is empty", this.peek());
    const node = this.parseOr();
    const next = this.peek();
    if (next.kind !== "end") {
      if (next.kind === "op" && next.value === "(") this.fail("function calls are not allowed", next);
      this.fail(`unexpected ${describe(next)}`, next);
    }
    return node;
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.takeOp("||")) left = { type: "logical", op: "||", left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseComparison();
    while (this.takeOp("&&")) left = { type: "logical", op: "&&", left, right: this.parseComparison() };
    return left;
  }

  private parseComparison(): Node {
    const left = this.parseUnary();
    const next = this.peek();
    const op = next.kind === "op" || (next.kind === "name" && next.value === "in") ? next.value : undefined;
    if (op === undefined || !COMPARISONS.has(String(op))) return left;
    this.index += 1;
    const right = this.parseUnary();
    const after = this.peek();
    if ((after.kind === "op" || after.kind === "name") && COMPARISONS.has(String(after.value))) {
      this.fail("comparisons cannot be chained; use && between them", after);
    }
    return { type: "compare", op: String(op), left, right };
  }

  private parseUnary(): Node {
    return this.nested(() => {
      if (this.takeOp("!")) return { type: "not", operand: this.parseUnary() };
      if (this.takeOp("-")) return { type: "negate", operand: this.parseUnary() };
      return this.parsePostfix();
    });
  }

  private parsePostfix(): Node {
    let node = this.parsePrimary();
    for (;;) {
      const next = this.peek();
      if (this.takeOp(".")) {
        const name = this.peek();
        if (name.kind !== "name") this.fail(`expected a property name after '.', found ${describe(name)}`, name);
        this.index += 1;
        node = { type: "member", object: node, key: { type: "literal", value: name.value } };
      } else if (this.takeOp("[")) {
        const key = this.nested(() => this.parseOr());
        this.expectOp("]");
        node = { type: "member", object: node, key };
      } else if (next.kind === "op" && next.value === "(") {
        this.fail("function calls are not allowed", next);
      } else {
        return node;
      }
    }
  }

  private parsePrimary(): Node {
    const token = this.peek();
    this.index += 1;
    switch (token.kind) {
      case "number":
      case "string":
        return { type: "literal", value: token.value };
      case "name": {
        if (Object.hasOwn(KEYWORDS, token.value)) return { type: "literal", value: KEYWORDS[token.value] };
        if (ROOTS.has(token.value)) return { type: "root", name: token.value };
        return this.fail(`unknown name '${token.value}' (only args and entryId can be used)`, token);
      }
      case "op":
        if (token.value === "(") {
          const inner = this.nested(() => this.parseOr());
          this.expectOp(")");
          return inner;
        }
        if (token.value === "[") {
          const items: Node[] = [];
          if (!this.takeOp("]")) {
            do items.push(this.nested(() => this.parseOr()));
            while (this.takeOp(","));
            this.expectOp("]");
          }
          return { type: "list", items };
        }
        return this.fail(`unexpected ${describe(token)}`, token);
      case "end":
        return this.fail("the condition ends too early", token);
    }
  }

  private nested<T>(parse: () => T): T {
    this.depth += 1;
    if (this.depth > MAX_DEPTH) this.fail(`the condition is nested more than ${MAX_DEPTH} levels deep`, this.peek());
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private takeOp(value: string): boolean {
    const token = this.peek();
    if (token.kind === "op" && token.value === value) {
      this.index += 1;
      return true;
    }
    return false;
  }

  private expectOp(value: string): void {
    if (!this.takeOp(value)) this.fail(`expected '${value}', found ${describe(this.peek())}`, this.peek());
  }

  private fail(reason: string, token: Token): never {
    throw new HookConditionError(reason, token.pos + 1, this.source);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case "end":
      return "the end of the condition";
    case "string":
      return `string '${token.value}'`;
    default:
      return `'${token.value}'`;
  }
}

function evaluate(node: Node, scope: HookConditionScope): unknown {
  switch (node.type) {
    case "literal":
      return node.value;
    case "root":
      return node.name === "args" ? scope.args : scope.entryId;
    case "list":
      return node.items.map((item) => evaluate(item, scope));
    case "member":
      return member(evaluate(node.object, scope), evaluate(node.key, scope));
    case "not":
      return !truthy(evaluate(node.operand, scope));
    case "negate": {
      const value = evaluate(node.operand, scope);
      return typeof value === "number" ? -value : undefined;
    }
    case "logical": {
      const left = evaluate(node.left, scope);
      if (node.op === "&&") return truthy(left) ? evaluate(node.right, scope) : left;
      return truthy(left) ? left : evaluate(node.right, scope);
    }
    case "compare":
      return compare(node.op, evaluate(node.left, scope), evaluate(node.right, scope));
  }
}

/** Own properties only: `args.constructor` or `args.__proto__` are simply undefined. */
function member(object: unknown, key: unknown): unknown {
  if (typeof key !== "string" && typeof key !== "number") return undefined;
  if (typeof object === "string") return key === "length" ? object.length : undefined;
  if (typeof object !== "object" || object === null) return undefined;
  return Object.hasOwn(object, key) ? (object as Record<string | number, unknown>)[key] : undefined;
}

/** Strict equality, except that a missing value (undefined) equals null. */
function equal(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null) return b === undefined || b === null;
  return a === b;
}

function compare(op: string, left: unknown, right: unknown): boolean {
  switch (op) {
    case "==":
    case "===":
      return equal(left, right);
    case "!=":
    case "!==":
      return !equal(left, right);
    case "in":
      if (Array.isArray(right)) return right.some((item) => equal(left, item));
      if (typeof right === "string") return typeof left === "string" && right.includes(left);
      if (typeof right === "object" && right !== null) {
        return (typeof left === "string" || typeof left === "number") && Object.hasOwn(right, left);
      }
      return false;
  }
  const comparable =
    (typeof left === "number" && typeof right === "number") || (typeof left === "string" && typeof right === "string");
  if (!comparable) return false;
  const [a, b] = [left as number | string, right as number | string];
  switch (op) {
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    default:
      return a >= b;
  }
}

function truthy(value: unknown): boolean {
  return Boolean(value);
}
