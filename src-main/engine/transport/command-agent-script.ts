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
 * Why Perl: every Zimbra server has it (Zimbra's own tools are Perl scripts; the packages depend
 * on the system's perl and ship one in /opt/zimbra/common/bin). Only core modules (POSIX).
 * Where it cannot start, the transport runs each command in an exec channel of its own, as before.
 *
 * Frames, both ways: type (1 byte), command id (uint32 BE), payload length (uint32 BE), payload.
 *   to the agent:   S start (payload: argv, NUL-separated), I stdin bytes, C end of stdin,
 *                   A credit (payload: uint32 more stdout bytes the client can take), K kill
 *   from the agent: H hello (id 0, payload: version), O stdout bytes, E stderr bytes,
 *                   X exit (payload: the status as a shell reports it, as decimal text),
 *                   F could not start (payload: why)
 * A command's stdout is sent only while it has credit (WINDOW bytes at start), so one slow
 * reader holds back its own command and never the connection's other commands. Everything the
 * agent starts is in a process group of its own, killed when the client sends K or goes away.
 */

/** Stdout bytes a command may send before the client grants more (mirrored in the script). */
export const AGENT_WINDOW_BYTES = 8 << 20;
export const AGENT_VERSION = 'mailvault-agent 1';

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
  for my $c (values %cmd) { kill 'KILL', -$c->{pid}, $c->{pid} }
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

sub start {
  my ($id, $payload) = @_;
  my @argv = split /\0/, $payload, -1;
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
    # \`env NAME=value... program args\` (how the transport sets LC_ALL=C) is done here: a process
    # start is an exec fewer, 3-5 ms of the server's CPU each on the lab's machine.
    if (@argv > 1 && $argv[0] eq 'env') {
      my $i = 1;
      $i++ while $i < @argv && $argv[$i] =~ /^[A-Za-z_][A-Za-z0-9_]*=/;
      if ($i > 1 && $i < @argv) {
        for my $pair (@argv[1 .. $i - 1]) { my ($k, $v) = split /=/, $pair, 2; $ENV{$k} = $v }
        @argv = @argv[$i .. $#argv];
      }
    }
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

put('H', 0, '${AGENT_VERSION}');
while (1) {
  my ($rin, $win, $reaping) = ('', '', 0);
  vec($rin, fileno STDIN, 1) = 1;
  for my $c (values %cmd) {
    vec($rin, fileno $c->{out}, 1) = 1 if $c->{out} && $c->{credit} > 0;
    vec($rin, fileno $c->{err}, 1) = 1 if $c->{err};
    vec($win, fileno $c->{in}, 1) = 1 if $c->{in} && length $c->{pending};
    $reaping = 1 if !$c->{out} && !$c->{err};
  }
  # A command whose output has ended has usually exited too: look again soon rather than wait
  # for a SIGCHLD that select would not report.
  my $n = select(my $rout = $rin, my $wout = $win, undef, $reaping ? 0.002 : undef);
  if ($n < 0) { next if $!{EINTR}; stop_all() }
  if (vec($rout, fileno STDIN, 1)) {
    my $got = sysread STDIN, $input, 1048576, length $input;
    if (!$got) { next if !defined $got && $!{EINTR}; stop_all() }
    take_requests();
  }
  for my $id (keys %cmd) { pump($id, $cmd{$id}, $rout, $wout) if $cmd{$id} }
}
`;
