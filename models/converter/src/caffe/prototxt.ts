/**
 * A parser for protobuf text format (what Caffe's .prototxt files are written in).
 *
 * It is schema-free: it yields the syntax tree (field names with scalar or nested-message
 * values, in file order). `textToObject` (text-to-object.ts) then interprets that tree
 * against a protobufjs Type. Supported: `name: value`, `name { ... }`, `name: { ... }`,
 * `name < ... >`, list values `name: [a, b]`, optional `,`/`;` separators, `#` comments,
 * single- or double-quoted strings with C escapes and adjacent-string concatenation,
 * integers (decimal, hex, octal), floats (incl. `1e-3`, `2.5f`, `inf`, `nan`), identifiers.
 */

export type TextScalar =
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string; value: number }
  | { kind: 'identifier'; text: string };

export interface TextField {
  name: string;
  value: TextScalar | TextMessage;
  line: number;
}

export interface TextMessage {
  kind: 'message';
  fields: TextField[];
}

export class PrototxtSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = 'PrototxtSyntaxError';
  }
}

type Token =
  | { type: 'punct'; text: string; line: number; column: number }
  | { type: 'ident'; text: string; line: number; column: number }
  | { type: 'number'; text: string; line: number; column: number }
  | { type: 'string'; value: string; line: number; column: number }
  | { type: 'eof'; line: number; column: number };

const identRe = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const numberRe = /[-+]?(?:0[xX][0-9A-Fa-f]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[fF]?)/y;
const punctuation = new Set(['{', '}', '<', '>', ':', '[', ']', ',', ';']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (message: string): never => {
    throw new PrototxtSyntaxError(message, line, pos - lineStart + 1);
  };
  while (pos < source.length) {
    const ch = source[pos]!;
    if (ch === '\n') {
      pos++;
      line++;
      lineStart = pos;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      pos++;
      continue;
    }
    if (ch === '#') {
      while (pos < source.length && source[pos] !== '\n') pos++;
      continue;
    }
    const column = pos - lineStart + 1;
    if (punctuation.has(ch)) {
      tokens.push({ type: 'punct', text: ch, line, column });
      pos++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const { value, end } = readString(source, pos, fail);
      tokens.push({ type: 'string', value, line, column });
      pos = end;
      continue;
    }
    if (/[-+0-9.]/.test(ch)) {
      // `-inf` / `-nan` are signed identifiers.
      const signed = /[-+](inf|infinity|nan)\b/iy;
      signed.lastIndex = pos;
      const special = signed.exec(source);
      if (special) {
        tokens.push({ type: 'number', text: special[0], line, column });
        pos += special[0].length;
        continue;
      }
      numberRe.lastIndex = pos;
      const m = numberRe.exec(source);
      if (!m || m[0] === '-' || m[0] === '+' || m[0] === '.') fail(`unexpected character '${ch}'`);
      const text = m![0];
      const next = source[pos + text.length];
      if (next !== undefined && /[A-Za-z0-9_]/.test(next)) fail(`malformed number '${text}${next}'`);
      tokens.push({ type: 'number', text, line, column });
      pos += text.length;
      continue;
    }
    identRe.lastIndex = pos;
    const m = identRe.exec(source);
    if (!m) fail(`unexpected character '${ch}'`);
    tokens.push({ type: 'ident', text: m![0], line, column });
    pos += m![0].length;
  }
  tokens.push({ type: 'eof', line, column: pos - lineStart + 1 });
  return tokens;
}

const simpleEscapes: Record<string, string> = {
  n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?',
};

function readString(source: string, start: number, fail: (m: string) => never): { value: string; end: number } {
  const quote = source[start];
  // Escapes produce bytes; decode as UTF-8 at the end, like protobuf does for `string` fields.
  const bytes: number[] = [];
  const pushText = (text: string) => bytes.push(...Buffer.from(text, 'utf8'));
  let pos = start + 1;
  for (;;) {
    const ch = source[pos];
    if (ch === undefined || ch === '\n') fail('unterminated string');
    if (ch === quote) return { value: Buffer.from(bytes).toString('utf8'), end: pos + 1 };
    if (ch !== '\\') {
      const cp = source.codePointAt(pos)!;
      pushText(String.fromCodePoint(cp));
      pos += cp > 0xffff ? 2 : 1;
      continue;
    }
    const esc = source[pos + 1];
    if (esc === undefined) fail('unterminated string');
    if (simpleEscapes[esc!] !== undefined) {
      pushText(simpleEscapes[esc!]!);
      pos += 2;
    } else if (esc === 'x' || esc === 'X') {
      const m = /[0-9A-Fa-f]{1,2}/y;
      m.lastIndex = pos + 2;
      const hex = m.exec(source);
      if (!hex) fail('bad \\x escape');
      bytes.push(parseInt(hex![0], 16));
      pos += 2 + hex![0].length;
    } else if (/[0-7]/.test(esc!)) {
      const m = /[0-7]{1,3}/y;
      m.lastIndex = pos + 1;
      const oct = m.exec(source)![0];
      const value = parseInt(oct, 8);
      if (value > 255) fail('octal escape out of range');
      bytes.push(value);
      pos += 1 + oct.length;
    } else {
      fail(`unknown escape '\\${esc}'`);
    }
  }
}

function numberValue(text: string): number {
  const lower = text.toLowerCase();
  const sign = lower.startsWith('-') ? -1 : 1;
  const body = lower.replace(/^[-+]/, '');
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  if (body.startsWith('0x')) return sign * parseInt(body.slice(2), 16);
  if (/^0[0-7]+$/.test(body)) return sign * parseInt(body, 8);
  return sign * Number(body.replace(/f$/, ''));
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.type !== 'eof') this.index++;
    return token;
  }

  private isPunct(text: string): boolean {
    const token = this.peek();
    return token.type === 'punct' && token.text === text;
  }

  private fail(message: string, token: Token = this.peek()): never {
    throw new PrototxtSyntaxError(message, token.line, token.column);
  }

  private describe(token: Token): string {
    switch (token.type) {
      case 'eof':
        return 'end of input';
      case 'string':
        return 'a string';
      default:
        return `'${token.text}'`;
    }
  }

  /** Fields until `close` (or end of input when close is null). */
  parseMessage(close: string | null): TextMessage {
    const fields: TextField[] = [];
    for (;;) {
      const token = this.peek();
      if (close === null && token.type === 'eof') break;
      if (close !== null && token.type === 'punct' && token.text === close) {
        this.next();
        break;
      }
      if (token.type !== 'ident') this.fail(`expected a field name, got ${this.describe(token)}`);
      this.next();
      this.parseFieldValue(token.text, token.line, fields);
      if (this.isPunct(',') || this.isPunct(';')) this.next();
    }
    return { kind: 'message', fields };
  }

  private parseFieldValue(name: string, line: number, into: TextField[]): void {
    const hasColon = this.isPunct(':');
    if (hasColon) this.next();
    if (this.isPunct('{') || this.isPunct('<')) {
      const open = this.next() as { text: string };
      into.push({ name, value: this.parseMessage(open.text === '{' ? '}' : '>'), line });
      return;
    }
    if (!hasColon) this.fail(`expected ':' or '{' after '${name}'`);
    if (this.isPunct('[')) {
      this.next();
      if (this.isPunct(']')) {
        this.next();
        return;
      }
      for (;;) {
        if (this.isPunct('{') || this.isPunct('<')) {
          const open = this.next() as { text: string };
          into.push({ name, value: this.parseMessage(open.text === '{' ? '}' : '>'), line });
        } else {
          into.push({ name, value: this.parseScalar(), line });
        }
        if (this.isPunct(',')) {
          this.next();
          continue;
        }
        if (this.isPunct(']')) {
          this.next();
          return;
        }
        this.fail(`expected ',' or ']' in list '${name}'`);
      }
    }
    into.push({ name, value: this.parseScalar(), line });
  }

  private parseScalar(): TextScalar {
    const token = this.next();
    switch (token.type) {
      case 'string': {
        let value = token.value;
        while (this.peek().type === 'string') value += (this.next() as { value: string }).value;
        return { kind: 'string', value };
      }
      case 'number':
        return { kind: 'number', text: token.text, value: numberValue(token.text) };
      case 'ident': {
        const lower = token.text.toLowerCase();
        if (lower === 'inf' || lower === 'infinity' || lower === 'nan') {
          return { kind: 'number', text: token.text, value: numberValue(token.text) };
        }
        return { kind: 'identifier', text: token.text };
      }
      default:
        return this.fail(`expected a value, got ${this.describe(token)}`, token);
    }
  }
}

/** Parses protobuf text format into its syntax tree. Throws PrototxtSyntaxError with line and column. */
export function parsePrototxt(source: string): TextMessage {
  return new Parser(tokenize(source)).parseMessage(null);
}
