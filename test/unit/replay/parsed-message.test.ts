import { describe, expect, it } from 'vitest';
import { fragmentOf, normalizeSubject, parseMessage } from '../../../src-main/engine/replay/parsed-message';
import { selectLogs, type RedoLogFile } from '../../../src-main/engine/replay/log-files';

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
