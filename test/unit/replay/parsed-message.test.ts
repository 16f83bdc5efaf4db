import { describe, expect, it } from 'vitest';
import { fragmentOf, normalizeSubject, parseMessage } from '../../../src-main/engine/replay/parsed-message';
import { selectLogs, type RedoLogFile } from '../../../src-main/engine/replay/log-files';
import { referenceParseMessage } from './parsed-message-reference';

describe('parseMessage', () => {
  it('takes subject, sender, recipients and the fragment of the first text part of a multipart message', () => {
    const raw = Buffer.from(
      [
        'From: "Alice Example" <alice@partner.test>',
        'To: ann@example.com, Ben <ben@example.com>',
        'Subject: Re: Fwd:  quarterly\r\n report',
        'Content-Type: multipart/mixed; boundary="=_b1"',
        '',
        '--=_b1',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Hello   there,\r\n\r\nthe   report   is attached.',
        '--=_b1',
        'Content-Type: application/octet-stream',
        '',
        'AAAA',
        '--=_b1--',
        '',
      ].join('\r\n'),
    );
    expect(parseMessage(raw)).toEqual({
      subject: 'quarterly report',
      rawSubject: 'Re: Fwd:  quarterly report',
      sender: 'Alice Example',
      recipients: 'ann@example.com, Ben',
      fragment: 'Hello there, the report is attached.',
    });
  });

  it('finds the text part of nested multiparts, with a quoted boundary holding spaces and regex characters', () => {
    const raw = Buffer.from(
      [
        'From: bob@example.com',
        'Subject: nested',
        'Content-Type: multipart/mixed;',
        '\tboundary="outer (1)+.*"',
        '',
        'preamble --not a delimiter',
        '--outer (1)+.*',
        'Content-Type: multipart/alternative; boundary=inner',
        '',
        '--inner',
        'Content-Type: text/html',
        '',
        '<p>html first</p>',
        '--inner',
        'Content-Type: text/plain',
        '',
        'the  plain\r\n text',
        '--inner--',
        '--outer (1)+.*',
        'Content-Type: text/plain',
        '',
        'second text',
        '--outer (1)+.*--',
      ].join('\r\n'),
    );
    expect(parseMessage(raw).fragment).toBe('the plain text');
    expect(parseMessage(raw)).toEqual(referenceParseMessage(raw));
  });

  it('gives no fragment when there is no text/plain part, and stops at the close delimiter', () => {
    const raw = Buffer.from(
      'Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/png\n\nPNG\n--b--\n--b\nContent-Type: text/plain\n\nafter the end\n',
    );
    expect(parseMessage(raw).fragment).toBe('');
    expect(parseMessage(raw)).toEqual(referenceParseMessage(raw));
  });

  it('reads LF-only messages, 8-bit bodies and headers, and invalid UTF-8 as the whole decoded message does', () => {
    const raw = Buffer.concat([
      Buffer.from('From: =?utf-8?q?x?= Jörg <j@example.de>\nSubject: Réunion\n\n', 'utf8'),
      Buffer.from([0xe2, 0x82]), // a character cut short
      Buffer.from(' café  ünïcode \u00a0 text\n', 'utf8'),
      Buffer.from([0xff, 0xc3]),
    ]);
    const parsed = parseMessage(raw);
    expect(parsed.subject).toBe('Réunion');
    expect(parsed.sender).toBe('=?utf-8?q?x?= Jörg');
    expect(parsed.fragment).toBe('\ufffd café ünïcode text \ufffd\ufffd');
    expect(parsed).toEqual(referenceParseMessage(raw));
  });

  it('decodes only the start of a long text part, unless that start is mostly blank', () => {
    const words = 'ünïcode wörds '.repeat(5000);
    const long = Buffer.from(`Subject: long\r\n\r\n${words}`, 'utf8');
    expect(parseMessage(long).fragment).toBe(referenceParseMessage(long).fragment);
    expect(parseMessage(long).fragment).toHaveLength(150);
    // 20,000 blank characters, then the words: the fragment comes from past the decoded start.
    const blank = Buffer.from(`Subject: blank\r\n\r\n${' \r\n'.repeat(20000)}then the ${words}`, 'utf8');
    expect(parseMessage(blank).fragment.startsWith('then the ünïcode')).toBe(true);
    expect(parseMessage(blank)).toEqual(referenceParseMessage(blank));
    // Fewer than 150 characters before a long blank stretch: the fragment goes on after it.
    const gap = Buffer.from(`Subject: gap\n\n${'a'.repeat(120)}${' '.repeat(700)}tail`, 'utf8');
    expect(parseMessage(gap).fragment).toBe(`${'a'.repeat(120)} tail`);
    // A multi-byte character across the cut of the decoded start.
    for (let shift = 0; shift < 4; shift++) {
      const cut = Buffer.from(`Subject: cut\n\n${'x'.repeat(shift)}${'€😀'.repeat(6000)}`, 'utf8');
      expect(parseMessage(cut)).toEqual(referenceParseMessage(cut));
    }
  });

  it('agrees with the whole-message parser on thousands of generated messages', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const eols = ['\r\n', '\n', '\r', '\n\r', '\r\r\n'];
    const texts = [
      'hello',
      ' ',
      '\t',
      '--',
      '-',
      'é',
      '€',
      '😀',
      '\u00a0',
      'x'.repeat(300),
      '=',
      ':',
      'a b',
      '"',
    ];
    const bytes = () =>
      Buffer.from(Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * 256)));
    const text = () =>
      Buffer.concat(
        Array.from({ length: Math.floor(random() * 8) }, () =>
          random() < 0.15 ? bytes() : Buffer.from(random() < 0.3 ? pick(eols) : pick(texts), 'utf8'),
        ),
      );
    const entity = (depth: number, eol: string): Buffer => {
      const e = () => (random() < 0.9 ? eol : pick(eols));
      const boundary = pick(['b', 'b1', '=_x.y', 'with space', 'b?*']);
      const kind =
        depth < 3
          ? pick(['multipart', 'multipart', 'text', 'html', 'none', 'binary'])
          : pick(['text', 'html']);
      const headers: string[] = [];
      if (kind === 'multipart')
        headers.push(
          `Content-Type: multipart/${pick(['mixed', 'alternative'])};${e()} boundary=${boundary.includes(' ') || random() < 0.5 ? `"${boundary}"` : boundary}`,
        );
      else if (kind === 'text')
        headers.push(`Content-Type: ${pick(['text/plain', 'TEXT/PLAIN; charset=utf-8'])}`);
      else if (kind === 'html') headers.push('Content-Type: text/html');
      else if (kind === 'binary') headers.push('Content-Type: application/octet-stream');
      if (depth === 0)
        headers.push(
          `Subject: ${pick(['Re: hi', 'Fwd: ünï', 'x'])}`,
          `From: ${pick(['"A B" <a@b>', 'c@d', ''])}`,
        );
      const parts: Buffer[] = [
        Buffer.from(headers.join(eol) + (headers.length ? e() : '') + (random() < 0.95 ? e() : ''), 'utf8'),
      ];
      if (kind === 'multipart') {
        if (random() < 0.5) parts.push(text(), Buffer.from(e()));
        for (let n = Math.floor(random() * 4); n > 0; n--)
          parts.push(
            Buffer.from(`--${boundary}${random() < 0.1 ? ' \t' : ''}${e()}`),
            entity(depth + 1, eol),
            Buffer.from(e()),
          );
        if (random() < 0.8) parts.push(Buffer.from(`--${boundary}--${e()}`));
        if (random() < 0.3) parts.push(text());
      } else
        parts.push(
          text(),
          random() < 0.2 ? Buffer.from(pick([' \n'.repeat(9000), 'wörd '.repeat(4000)])) : Buffer.alloc(0),
          text(),
        );
      return Buffer.concat(parts);
    };
    let withFragment = 0;
    for (let i = 0; i < 3000; i++) {
      const raw = entity(0, pick(['\r\n', '\n']));
      const expected = referenceParseMessage(raw);
      expect(parseMessage(raw), raw.toString('latin1')).toEqual(expected);
      if (expected.fragment) withFragment++;
    }
    // The generator makes the cases that matter: most messages have a text part somewhere.
    expect(withFragment).toBeGreaterThan(1000);
  });

  it('cuts the fragment at 150 characters and normalizes reply prefixes', () => {
    expect(fragmentOf('word '.repeat(100))).toHaveLength(149);
    expect(normalizeSubject('RE: fw: AW: hello')).toBe('hello');
    expect(normalizeSubject('Reply needed')).toBe('Reply needed');
  });
});

describe('selectLogs', () => {
  const log = (seq: number, from: RedoLogFile['from']): RedoLogFile => ({
    name: `s${seq}-${from}`,
    seq,
    path: '',
    from,
  });
  it('keeps one file per sequence, the target copy first, and names the gaps', () => {
    const { logs, gaps } = selectLogs(
      [log(3, 'server'), log(3, 'target'), log(4, 'server'), log(7, 'server'), log(1, 'target')],
      {
        fromSeq: 0,
      },
    );
    expect(logs.map((l) => l.name)).toEqual(['s1-target', 's3-target', 's4-server', 's7-server']);
    expect(gaps).toEqual([
      { from: 0, to: 0 },
      { from: 2, to: 2 },
      { from: 5, to: 6 },
    ]);
    expect(selectLogs([log(3, 'server'), log(9, 'server')], { toSeq: 5 }).logs.map((l) => l.seq)).toEqual([
      3,
    ]);
  });
});
