import { FIND_PRINTF } from './find-records';
import { TAR_ARGV } from './remote-commands';

/**
 * The server side of the command agent (command-agent.ts): a Perl program, run once per SSH
 * connection in one exec channel, that starts each command it is sent (an argv, run as execvp
 * does: no shell) and multiplexes the commands' stdin, stdout, stderr and exit statuses over its own stdin/stdout.
 *
 * Why: sshd starts every exec channel as a new session through the user's login shell, which
 * also reads the user's shell start-up files (Debian's bash reads ~/.bashrc for ssh commands;
 * the lab's sshd points HOME at an empty directory, so there it reads none): 17-60 ms a command
 * on the lab's machine, where starting any process costs ~7.5 ms, and a round trip or two more
 * over a WAN. A backup runs six commands per account, two of them inside its maintenance window.
 * Through the agent a command costs a fork and an exec.
 *
 * The listing walkRemote asks of find (`find -H DIR -ignore_readdir_race -type f -printf FORMAT`,
 * that argv exactly) the agent does itself, with no fork and no exec: a find is a process
 * start, 10-15 ms of the server's CPU on the lab's machine (a fork of the agent 2-5 ms: on a
 * virtual machine every page-table change can cost a trap), and a backup lists each account's
 * folders four times. The agent does nothing else meanwhile: ~9 µs a file, 5 ms for 500.
 *
 * Likewise readFilesOverSsh's tar (TAR_ARGV, remote-commands.ts): the agent reads the listed
 * files itself and writes the archive GNU tar would (ustar blocks, a pax header with the path
 * and the nanosecond mtime before each file; the same messages and exit status for a missing,
 * unreadable, shrunk or changed file), a chunk at a time between its other commands, within the
 * command's credit. No sshd session, login shell, env and tar per account and kind: 4 process
 * starts each, plus a pipe hop through the agent. Perl's stat rounds mtimes to whole seconds (Time::HiRes's to a
 * double), so the child calls statx(2) itself for the nanoseconds find prints; where statx is
 * not to be had (an architecture whose syscall number the script does not know, a kernel before
 * 4.11), it execs find after all.
 *
 * Why Perl: every Zimbra server has it (Zimbra's own tools are Perl scripts; the packages depend
 * on the system's perl and ship one in /opt/zimbra/common/bin). Only core modules (POSIX).
 * Where it cannot start, the transport runs each command in an exec channel of its own, as before.
 *
 * Frames, both ways: type (1 byte), command id (uint32 BE), payload length (uint32 BE), payload.
 *   to the agent:   S start (payload: argv, NUL-separated), I stdin bytes, C end of stdin,
 *                   A credit (payload: uint32 more stdout bytes the client can take), K kill
 *   from the agent: H hello (id 0, payload: version, then NUL and `native` where it lists and
 *                   tars itself), O stdout bytes, E stderr bytes,
 *                   X exit (payload: the status as a shell reports it, as decimal text),
 *                   F could not start (payload: why)
 * A command's stdout is sent only while it has credit (WINDOW bytes at start), so one slow
 * reader holds back its own command and never the connection's other commands. Everything the
 * agent starts is in a process group of its own, killed when the client sends K or goes away.
 */

/** Stdout bytes a command may send before the client grants more (mirrored in the script). */
export const AGENT_WINDOW_BYTES = 8 << 20;
export const AGENT_VERSION = 'mailvault-agent 2';

/** walkRemote's find, as the agent recognises it (ssh-files.ts). */
const NATIVE_FIND_FORMAT_HEX = Buffer.from(FIND_PRINTF).toString('hex');

/** readFilesOverSsh's tar after its leading `env LC_ALL=C`, NUL-joined, as the agent recognises it. */
const NATIVE_TAR_HEX = Buffer.from(TAR_ARGV.slice(TAR_ARGV.indexOf('tar')).join('\0')).toString('hex');

export const AGENT_SCRIPT = String.raw`
use strict; use warnings; use POSIX (); use IO::Handle;
$SIG{PIPE} = 'IGNORE';
binmode STDIN; binmode STDOUT;
# Linux's F_SETPIPE_SZ (1031) to 1 MiB, here and on each command's stdout (where not Linux, or
# not a pipe, it fails and nothing changes): bigger reads and writes, so fewer, fuller SSH
# packets; a 1.1 GiB tar through the agent came in 58-61k packets instead of 68k (direct: 46k).
fcntl(STDOUT, 1031, 1048576);
my $WINDOW = ${AGENT_WINDOW_BYTES};
my $CHUNK = 262144;
my %cmd;
my $input = '';

sub stop_all {
  for my $c (values %cmd) { kill 'KILL', -$c->{pid}, $c->{pid} if $c->{pid} }
  POSIX::_exit(0);
}

sub put {
  my ($type, $id, $data) = @_;
  my $frame = pack('aNN', $type, $id, length $data) . $data;
  my $off = 0;
  while ($off < length $frame) {
    my $n = syswrite STDOUT, $frame, length($frame) - $off, $off;
    if (!defined $n) { next if $!{EINTR}; stop_all() }
    $off += $n;
  }
}

my $FIND_FORMAT = pack('H*', '${NATIVE_FIND_FORMAT_HEX}');
my $SYS_STATX = { x86_64 => 332, aarch64 => 291 }->{(POSIX::uname())[4]};
my %FIND_SAYS = (ENOENT => 'No such file or directory', ENOTDIR => 'Not a directory',
                 EACCES => 'Permission denied');

# walkRemote's find (see the top of this file), done here, in the agent itself: its records go
# out as the command's stdout, its complaints as stderr, then its exit status as find's would be.
# Returns false where it cannot (another argv, no statx): the command is then started.
sub native_find {
  my ($id, @a) = @_;
  return 0 unless $SYS_STATX && @a == 8 && $a[0] eq 'find' && $a[1] eq '-H'
    && $a[3] eq '-ignore_readdir_race' && $a[4] eq '-type' && $a[5] eq 'f' && $a[6] eq '-printf'
    && $a[7] eq $FIND_FORMAT;
  my $root = $a[2];
  # struct statx: nlink at 16, mode at 28, ino at 32, size at 40, mtime (s64 sec, u32 nsec) at
  # 112, dev major and minor at 136; asked for with AT_FDCWD (-100), mask STATX_BASIC_STATS.
  my $buf = "\0" x 256;
  my ($status, $out, $err) = (0, '', '');
  my $complain = sub {
    my ($path) = @_;
    my ($name) = grep { $!{$_} } keys %FIND_SAYS;
    $err .= "find: '$path': " . ($name ? $FIND_SAYS{$name} : "$!") . "\n";
    $status = 1;
  };
  my $record = sub {
    my ($rel) = @_;
    my ($nlink, $mode, $ino, $size) = unpack('x16 L x8 S x2 Q Q', $buf);
    my ($sec, $nsec, $major, $minor) = unpack('x112 q L x12 L L', $buf);
    # find's %T@ (tv_sec, then tv_nsec as the fraction, even before 1970: find-records.ts), %D
    # as glibc's makedev packs st_dev.
    my $dev = (($major & 0xfffff000) << 32) | (($major & 0xfff) << 8) | (($minor & 0xffffff00) << 12) | ($minor & 0xff);
    $out .= "f\0$rel\0$size\0" . sprintf('%d.%09d', $sec, $nsec) . "\0$ino\0$dev\0$nlink\0";
    if (length $out >= $CHUNK) { put('O', $id, $out); $out = '' }
  };
  # The starting point is followed if it is a symbolic link (-H); nothing below it is.
  if (syscall($SYS_STATX, -100, $root, 0, 0x7ff, $buf) != 0) {
    return 0 if $!{ENOSYS};
    $complain->($root);
  } else {
    my $type = unpack('x28 S', $buf) & 0170000;
    $record->('') if $type == 0100000;
    my @dirs = $type == 0040000 ? ('') : ();
    while (@dirs) {
      my $rel = pop @dirs;
      my $dir = $rel eq '' ? $root : "$root/$rel";
      my $dh;
      unless (opendir $dh, $dir) {
        # Gone since it was listed (-ignore_readdir_race).
        $complain->($dir) unless $!{ENOENT} || $!{ENOTDIR};
        next;
      }
      for my $name (readdir $dh) {
        next if $name eq '.' || $name eq '..';
        my $path = $rel eq '' ? $name : "$rel/$name";
        if (syscall($SYS_STATX, -100, "$root/$path", 0x100, 0x7ff, $buf) != 0) {
          $complain->("$root/$path") unless $!{ENOENT};
          next;
        }
        my $t = unpack('x28 S', $buf) & 0170000;
        if ($t == 0040000) { push @dirs, $path }
        elsif ($t == 0100000) { $record->($path) }
      }
      closedir $dh;
    }
  }
  put('O', $id, $out) if length $out;
  put('E', $id, $err) if length $err;
  put('X', $id, $status);
  return 1;
}

my $TAR_LINE = pack('H*', '${NATIVE_TAR_HEX}');

# One 512-byte ustar header; its checksum is taken with the checksum field as eight spaces.
sub tar_block {
  my ($name, $size, $mtime, $type) = @_;
  my $h = pack('a100 a8 a8 a8 a12 a12 a8 a1 a100 a6 a2 a32 a32 a8 a8 a155 x12',
    $name, '0000644', '0000000', '0000000',
    sprintf('%011o', $size < 8589934592 ? $size : 0), sprintf('%011o', $mtime < 0 ? 0 : $mtime),
    ' ' x 8, $type, '', 'ustar', '00', '', '', '', '', '');
  substr($h, 148, 8) = sprintf('%06o', unpack('%32C*', $h)) . "\0 ";
  return $h;
}

# "<length> <key>=<value>\n", the length counting its own digits.
sub pax_record {
  my ($key, $value) = @_;
  my $body = " $key=$value\n";
  my $digits = length(length($body) + 1);
  $digits = length(length($body) + $digits) while length(length($body) + $digits) != $digits;
  return (length($body) + $digits) . $body;
}

sub tar_padding { my ($n) = @_; return "\0" x ((512 - $n % 512) % 512) }

sub tar_complain {
  my ($c, $path, $what, $status) = @_;
  my ($name) = grep { $!{$_} } keys %FIND_SAYS;
  $c->{complaints} .= "tar: $path: $what: " . ($name ? $FIND_SAYS{$name} : "$!") . "\n";
  $c->{status} = $status if $c->{status} < $status;
}

# Returns the header blocks for the file opened next, or '' where it is to be skipped.
sub tar_open {
  my ($c, $path) = @_;
  my $buf = "\0" x 256;
  if (syscall($SYS_STATX, -100, $path, 0, 0x7ff, $buf) != 0) { tar_complain($c, $path, 'Cannot stat', 2); return '' }
  my ($mode, $size) = unpack('x28 S x10 Q', $buf);
  my ($sec, $nsec) = unpack('x112 q L', $buf);
  # Directories and devices carry no file for the reader (it skips their entries): none are sent.
  return '' unless ($mode & 0170000) == 0100000;
  my $fh;
  unless (sysopen $fh, $path, POSIX::O_RDONLY()) { tar_complain($c, $path, 'Cannot open', 2); return '' }
  (my $name = $path) =~ s{^(?:\.{0,2}/)+}{};
  my $time = $sec >= 0 || $nsec == 0 ? sprintf('%d.%09d', $sec, $nsec) : sprintf('-%d.%09d', -$sec - 1, 1e9 - $nsec);
  my $pax = pax_record('path', $name) . pax_record('mtime', $time);
  $pax .= pax_record('size', $size) if $size >= 8589934592;
  @$c{qw(fh path left size sec nsec)} = ($fh, $path, $size, $size, $sec, $nsec);
  return tar_block(substr("PaxHeaders/$name", 0, 100), length $pax, $sec, 'x') . $pax
    . tar_padding(length $pax) . tar_block(substr($name, 0, 100), $size, $sec, '0');
}

# The file just read whole: closed, and a change while it was read reported as GNU tar does.
sub tar_close {
  my ($c) = @_;
  close $c->{fh};
  $c->{fh} = undef;
  my $buf = "\0" x 256;
  return if syscall($SYS_STATX, -100, $c->{path}, 0, 0x7ff, $buf) != 0;
  my ($size) = unpack('x40 Q', $buf);
  my ($sec, $nsec) = unpack('x112 q L', $buf);
  return if $size == $c->{size} && $sec == $c->{sec} && $nsec == $c->{nsec};
  $c->{complaints} .= "tar: $c->{path}: file changed as we read it\n";
  $c->{status} = 1 if $c->{status} < 1;
}

# The next piece of a native tar's archive, within its credit; its end, exit status and all.
sub pump_tar {
  my ($id, $c) = @_;
  return unless $c->{eof} && $c->{credit} > 0;
  $c->{files} //= [grep { length } split /\0/, delete $c->{list}];
  my $budget = $c->{credit} < $CHUNK ? $c->{credit} : $CHUNK;
  my $out = '';
  while (length $out < $budget && !$c->{ended}) {
    if ($c->{fh}) {
      my $want = $budget - length $out;
      $want = $c->{left} if $c->{left} < $want;
      my $got = sysread $c->{fh}, $out, $want, length $out;
      next if !defined $got && $!{EINTR};
      if (!$got) {
        # Shorter than when it was opened: padded to the size its header gave, as tar does.
        $c->{complaints} .= "tar: $c->{path}: File shrank by $c->{left} bytes; padding with zeros\n";
        $c->{status} = 2;
        $got = $c->{left};
        $out .= "\0" x $got;
      }
      $c->{left} -= $got;
      next if $c->{left} > 0;
      $out .= tar_padding($c->{size});
      tar_close($c);
    } elsif ($c->{next} < @{$c->{files}}) {
      $out .= tar_open($c, $c->{files}[$c->{next}++]);
      if ($c->{fh} && $c->{left} == 0) { tar_close($c) }
    } else {
      # Two zero blocks end the archive; tar fills its last 10240-byte record with zeros.
      my $total = $c->{sent} + length($out) + 1024;
      $out .= "\0" x (1024 + (10240 - $total % 10240) % 10240);
      $c->{ended} = 1;
    }
  }
  if (length $out) { $c->{credit} -= length $out; $c->{sent} += length $out; put('O', $id, $out) }
  return unless $c->{ended};
  put('E', $id, $c->{complaints}) if length $c->{complaints};
  put('X', $id, $c->{status});
  delete $cmd{$id};
}

sub start {
  my ($id, $payload) = @_;
  my @argv = split /\0/, $payload, -1;
  # \`env NAME=value... program args\` (how the transport sets LC_ALL=C) is done here: a process
  # start is an exec fewer, 3-5 ms of the server's CPU each on the lab's machine.
  my @set;
  if (@argv > 1 && $argv[0] eq 'env') {
    my $i = 1;
    $i++ while $i < @argv && $argv[$i] =~ /^[A-Za-z_][A-Za-z0-9_]*=/;
    if ($i > 1 && $i < @argv) { @set = @argv[1 .. $i - 1]; @argv = @argv[$i .. $#argv] }
  }
  return if native_find($id, @argv);
  if ($SYS_STATX && join("\0", @argv) eq $TAR_LINE) {
    $cmd{$id} = { native => 1, list => '', eof => 0, credit => $WINDOW, files => undef, next => 0,
                  fh => undef, sent => 0, ended => 0, complaints => '', status => 0 };
    return;
  }
  my ($in_r, $in_w, $out_r, $out_w, $err_r, $err_w);
  unless (pipe($in_r, $in_w) && pipe($out_r, $out_w) && pipe($err_r, $err_w)) {
    put('F', $id, "pipe: $!"); return;
  }
  my $pid = fork;
  if (!defined $pid) { put('F', $id, "fork: $!"); return }
  if ($pid == 0) {
    # Perl opens descriptors above 2 close-on-exec, so the command holds only its own three.
    setpgrp(0, 0);
    $SIG{PIPE} = 'DEFAULT';
    POSIX::dup2(fileno $in_r, 0); POSIX::dup2(fileno $out_w, 1); POSIX::dup2(fileno $err_w, 2);
    for my $pair (@set) { my ($k, $v) = split /=/, $pair, 2; $ENV{$k} = $v }
    # What a shell says and exits with when it cannot run a program (LocalTransport does the same).
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    my $missing = $!{ENOENT};
    syswrite STDERR, "$argv[0]: " . ($missing ? 'command not found' : "$!") . "\n";
    POSIX::_exit($missing ? 127 : 126);
  }
  close $in_r; close $out_w; close $err_w;
  # Non-blocking, all three: a descriptor select found ready may since have been closed (K) and
  # its number reused by a command started in the same pass, which must not block the agent.
  $_->blocking(0) for $in_w, $out_r, $err_r;
  fcntl($out_r, 1031, 1048576);
  $cmd{$id} = { pid => $pid, in => $in_w, out => $out_r, err => $err_r,
                pending => '', eof => 0, credit => $WINDOW, killed => 0 };
}

sub request {
  my ($type, $id, $payload) = @_;
  my $c = $cmd{$id};
  if ($type eq 'S') { start($id, $payload) }
  elsif (!$c) { }
  elsif ($c->{native}) {
    if ($type eq 'I') { $c->{list} .= $payload if defined $c->{list} }
    elsif ($type eq 'C') { $c->{eof} = 1 }
    elsif ($type eq 'A') { $c->{credit} += unpack('N', $payload) }
    elsif ($type eq 'K') { close $c->{fh} if $c->{fh}; delete $cmd{$id} }
  }
  elsif ($type eq 'I') { $c->{pending} .= $payload if $c->{in} }
  elsif ($type eq 'C') { $c->{eof} = 1 }
  elsif ($type eq 'A') { $c->{credit} += unpack('N', $payload) }
  elsif ($type eq 'K') {
    kill 'KILL', -$c->{pid}, $c->{pid};
    $c->{killed} = 1;
    for my $h (qw(in out err)) { close $c->{$h} if $c->{$h}; $c->{$h} = undef }
  }
}

sub take_requests {
  while (length($input) >= 9) {
    my ($type, $id, $len) = unpack('aNN', $input);
    last if length($input) < 9 + $len;
    my $payload = substr($input, 9, $len);
    substr($input, 0, 9 + $len) = '';
    request($type, $id, $payload);
  }
}

sub pump {
  my ($id, $c, $rout, $wout) = @_;
  if ($c->{out} && vec($rout, fileno $c->{out}, 1)) {
    my $got = sysread $c->{out}, my $buf, ($c->{credit} < $CHUNK ? $c->{credit} : $CHUNK);
    if ($got) { $c->{credit} -= $got; put('O', $id, $buf) }
    elsif (defined $got || !($!{EAGAIN} || $!{EINTR})) { close $c->{out}; $c->{out} = undef }
  }
  if ($c->{err} && vec($rout, fileno $c->{err}, 1)) {
    my $got = sysread $c->{err}, my $buf, 65536;
    if ($got) { put('E', $id, $buf) }
    elsif (defined $got || !($!{EAGAIN} || $!{EINTR})) { close $c->{err}; $c->{err} = undef }
  }
  if ($c->{in} && length $c->{pending} && vec($wout, fileno $c->{in}, 1)) {
    my $n = syswrite $c->{in}, $c->{pending};
    if (defined $n) { substr($c->{pending}, 0, $n) = '' }
    elsif (!$!{EAGAIN} && !$!{EINTR}) { $c->{pending} = ''; $c->{eof} = 1 }
  }
  if ($c->{in} && $c->{eof} && !length $c->{pending}) { close $c->{in}; $c->{in} = undef }
  return if $c->{out} || $c->{err};
  my $done = waitpid($c->{pid}, POSIX::WNOHANG());
  return if $done == 0;
  my $status = $done < 0 ? 127 : ($? & 127) ? 128 + ($? & 127) : $? >> 8;
  close $c->{in} if $c->{in};
  put('X', $id, $status) unless $c->{killed};
  delete $cmd{$id};
}

# The version, and whether find's listing and tar's archive are done here (statx is to be had).
put('H', 0, '${AGENT_VERSION}' . ($SYS_STATX ? "\0native" : ''));
while (1) {
  my ($rin, $win, $reaping, $busy) = ('', '', 0, 0);
  vec($rin, fileno STDIN, 1) = 1;
  for my $c (values %cmd) {
    if ($c->{native}) { $busy = 1 if $c->{eof} && $c->{credit} > 0; next }
    vec($rin, fileno $c->{out}, 1) = 1 if $c->{out} && $c->{credit} > 0;
    vec($rin, fileno $c->{err}, 1) = 1 if $c->{err};
    vec($win, fileno $c->{in}, 1) = 1 if $c->{in} && length $c->{pending};
    $reaping = 1 if !$c->{out} && !$c->{err};
  }
  # A command whose output has ended has usually exited too: look again soon rather than wait
  # for a SIGCHLD that select would not report.
  # A native tar with work to do and credit goes on at once, after a look at the others.
  my $n = select(my $rout = $rin, my $wout = $win, undef, $busy ? 0 : $reaping ? 0.002 : undef);
  if ($n < 0) { next if $!{EINTR}; stop_all() }
  if (vec($rout, fileno STDIN, 1)) {
    my $got = sysread STDIN, $input, 1048576, length $input;
    if (!$got) { next if !defined $got && $!{EINTR}; stop_all() }
    take_requests();
  }
  for my $id (keys %cmd) {
    my $c = $cmd{$id} or next;
    if ($c->{native}) { pump_tar($id, $c) } else { pump($id, $c, $rout, $wout) }
  }
}
`;
