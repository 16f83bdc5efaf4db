/**
 * Many files through one command: the server's GNU tar (or the command agent, which recognises
 * this argv and does the same itself: command-agent-script.ts) reads the NUL-separated list from
 * stdin and streams one archive back, which is split into entries as it arrives. One
 * channel and no per-file round trip: over a WAN link SFTP's open/read/close per blob is what
 * makes a message store backup slow. The stream is split by splitTar (tar-split.ts): small
 * files come whole, as `data` (and `parts`).
 *
 * --format=posix puts the nanosecond mtime in a pax header (ustar only has whole seconds) and
 * long names in pax headers too. --hard-dereference is essential: Zimbra hard-links one blob
 * into many mailboxes, and without it tar sends every later link as an empty "link" entry.
 * --dereference follows symbolic links, as opening the file locally does.
 */
export const TAR_ARGV = [
  'env',
  'LC_ALL=C',
  'tar',
  '-cf',
  '-',
  '--format=posix',
  '--hard-dereference',
  '--dereference',
  '--no-recursion',
  '--null',
  '-T',
  '-',
];
