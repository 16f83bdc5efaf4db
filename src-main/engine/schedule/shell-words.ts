/**
 * Splits a command line the way sh does for plain words and quoting ('…', "…", backslash),
 * and refuses anything sh would expand or treat as an operator: reading back the cron lines the
 * engine wrote (each argument single-quoted by quoteArg) and the commands an administrator
 * copies from `zmschedulebackup -s`. Never executes anything.
 */
export class ShellWordsError extends Error {}

const OPERATORS = new Set([';', '&', '|', '<', '>', '(', ')', '`', '$']);

export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellWordsError(`unterminated single quote in: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++; ; i++) {
        if (i >= line.length) throw new ShellWordsError(`unterminated double quote in: ${line}`);
        const d = line[i]!;
        if (d === '"') break;
        if (d === '$' || d === '`')
          throw new ShellWordsError(`expansion ${d} inside double quotes in: ${line}`);
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) word += line[++i]!;
        else word += d;
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new ShellWordsError(`trailing backslash in: ${line}`);
      word += line[++i]!;
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (OPERATORS.has(c) || c === '\n') {
      throw new ShellWordsError(`"${c}" is not part of a plain command: ${line}`);
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
