// nginx's config grammar, as its own reader (ngx_conf_file.c) takes it: words separated by
// spaces, a directive ended by ";" or followed by a "{ ... }" block, "#" comments at the start of
// a word, single and double quotes with \" \' \\ \t \r \n escapes, a backslash outside quotes
// keeping the next character from ending the word, and "${var}" (a "{" right after "$" opens no
// block). The Lua blocks of OpenResty (*_by_lua_block { ... }) hold Lua, not nginx words: they are
// kept as one raw argument. The result is a tree of directives, each with its file and line.

export interface Directive {
  name: string;
  args: string[];
  /** The file as shown to people (relative to nginx's conf folder when inside it). */
  file: string;
  line: number;
  block?: Directive[];
}

export class NginxSyntaxError extends Error {
  readonly code = 'ENGINXSYNTAX';
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'NginxSyntaxError';
  }
}

const SPACE = new Set([' ', '\t', '\r', '\n']);

/** Parses one file's text into its directives (includes are left as directives: see nginx-files.ts). */
export function parseNginx(text: string, file: string): Directive[] {
  let i = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw new NginxSyntaxError(file, line, message);
  };

  /** The next word, or a ";", "{" or "}" (as { punct }), or undefined at the end of the text. */
  const next = (): { word: string; line: number } | { punct: string; line: number } | undefined => {
    for (;;) {
      while (i < text.length && SPACE.has(text[i]!)) if (text[i++] === '\n') line++;
      if (i >= text.length) return undefined;
      if (text[i] !== '#') break;
      while (i < text.length && text[i] !== '\n') i++;
    }
    const start = line;
    const ch = text[i]!;
    if (ch === ';' || ch === '{' || ch === '}') {
      i++;
      return { punct: ch, line: start };
    }
    if (ch === '"' || ch === "'") {
      i++;
      let word = '';
      for (;;) {
        if (i >= text.length) fail(`unclosed ${ch} quote`);
        const c = text[i++]!;
        if (c === '\n') line++;
        if (c === ch) break;
        if (c === '\\' && i < text.length) {
          const e = text[i++]!;
          if (e === '\n') line++;
          word += e === 't' ? '\t' : e === 'r' ? '\r' : e === 'n' ? '\n' : e === '"' || e === "'" || e === '\\' ? e : `\\${e}`;
        } else {
          word += c;
        }
      }
      const after = text[i];
      if (after !== undefined && !SPACE.has(after) && after !== ';' && after !== '{' && after !== ')') {
        fail(`unexpected "${after}" after a quoted word`);
      }
      return { word, line: start };
    }
    let word = '';
    let variable = false;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '{' && variable) {
        word += c;
        i++;
        variable = false;
        continue;
      }
      if (SPACE.has(c) || c === ';' || c === '{') break;
      variable = c === '$';
      i++;
      if (c === '\\' && i < text.length) {
        const e = text[i++]!;
        if (e === '\n') line++;
        word += e === 't' ? '\t' : e === 'r' ? '\r' : e === 'n' ? '\n' : e === '"' || e === "'" || e === '\\' ? e : `\\${e}`;
        continue;
      }
      word += c;
    }
    return { word, line: start };
  };

  /** The raw text of a balanced { ... } (a Lua block), from just after its "{". */
  const rawBlock = (): string => {
    const from = i;
    let depth = 1;
    while (i < text.length) {
      const c = text[i++]!;
      if (c === '"' || c === "'") {
        // a Lua string: its braces do not count
        while (i < text.length && text[i] !== c) {
          if (text[i] === '\\') i++;
          if (text[i++] === '\n') line++;
        }
        i++;
      } else if (c === '-' && text[i] === '-') {
        while (i < text.length && text[i] !== '\n') i++;
      } else if (c === '\n') line++;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) return text.slice(from, i - 1).trim();
    }
    return fail('unclosed Lua block');
  };

  const block = (nested: boolean): Directive[] => {
    const out: Directive[] = [];
    for (;;) {
      const first = next();
      if (first === undefined) {
        if (nested) fail('unexpected end of file, expecting "}"');
        return out;
      }
      if ('punct' in first) {
        if (first.punct === '}' && nested) return out;
        fail(`unexpected "${first.punct}"`);
      }
      const d: Directive = { name: (first as { word: string }).word, args: [], file, line: first.line };
      for (;;) {
        const t = next();
        if (t === undefined) fail(`unexpected end of file, expecting ";" or "}" after "${d.name}"`);
        if ('word' in t!) {
          d.args.push(t.word);
          continue;
        }
        if (t!.punct === ';') break;
        if (t!.punct === '{') {
          if (d.name.endsWith('_by_lua_block')) d.args.push(rawBlock());
          else d.block = block(true);
          break;
        }
        fail(`unexpected "}" after "${d.name}"`);
      }
      out.push(d);
    }
  };

  return block(false);
}
