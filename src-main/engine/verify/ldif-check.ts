/**
 * The shape of an LDIF file as ldapadd reads it (RFC 2849, content records): entries separated by
 * blank lines, each starting with `dn:`, then `attr: value`, `attr:: base64` or `attr:< url`
 * lines, long values folded onto lines starting with one space. Returns the first problem, or
 * null. A checksum proves the file is what was written; this proves what was written loads.
 */
export function checkLdif(text: string): string | null {
  if (text.length > 0 && !text.endsWith('\n')) return 'is a cut-off LDIF file (no final newline)';
  const lines = text.split('\n');
  let inEntry = false;
  for (const [i, line] of lines.entries()) {
    const at = `line ${i + 1}`;
    if (line === '') {
      inEntry = false;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ')) {
      if (!inEntry) return `${at} continues nothing`;
      continue;
    }
    const attr = /^([A-Za-z][A-Za-z0-9;=-]*|\d+(\.\d+)+):(:|<)? ?(.*)$/.exec(line);
    if (!attr) return `${at} is not "attribute: value"`;
    if (!inEntry) {
      if (attr[1]!.toLowerCase() === 'version') continue;
      if (attr[1]!.toLowerCase() !== 'dn') return `${at} starts an entry without dn:`;
      inEntry = true;
    }
    if (attr[3] === ':' && !/^[A-Za-z0-9+/]*={0,2}$/.test(attr[4]!))
      return `${at} has a value that is not base64`;
  }
  return null;
}
