# perl scripts/lab/subreaper.pl CMD [ARG...]
#
# Runs CMD, a daemon that forks into the background (`libvirtd --daemon`),
# under a child subreaper (prctl PR_SET_CHILD_SUBREAPER) that reaps every
# process orphaned below it as soon as it exits, and returns CMD's exit
# status once CMD (the foreground part) has exited. The subreaper stays,
# detached, until the last of its descendants (the daemon and the QEMUs it
# started) is gone.
#
# Why: libvirtd starts each QEMU double-forked, so the QEMU is orphaned at
# once and adopted by PID 1 — on a real host an init that reaps at once. On
# machines whose PID 1 reaps orphans late (seen: a sandbox init reaping only
# every 1.1–2.2 s), a stopped QEMU stays a zombie meanwhile; libvirt's
# virProcessKillPainfully takes a zombie for alive (kill(pid, 0) succeeds)
# and polls every 200 ms, so every migration's confirm phase and every
# destroy waited for that init: ~1 s of noise per live migration
# (bench/migration-wall.ts). Under this subreaper the lab's hosts behave as a
# real host does.
#
# Perl because it is on every Debian (perl-base, Essential) and can call
# prctl; only core modules.
use strict;
use warnings;
use POSIX ();
use Config;

die "usage: subreaper.pl CMD [ARG...]\n" unless @ARGV;
# prctl's syscall number; PR_SET_CHILD_SUBREAPER is 36 everywhere.
my %SYS_PRCTL = ('x86_64' => 157, 'aarch64' => 167);
my ($arch) = $Config{archname} =~ /^([^-]+)/;
my $sys_prctl = $SYS_PRCTL{$arch} // die "subreaper.pl: no prctl syscall number known for $Config{archname}\n";

pipe(my $status_r, my $status_w) or die "subreaper.pl: pipe: $!\n";
my $reaper = fork() // die "subreaper.pl: fork: $!\n";
if ($reaper) {
  # The caller's process: exits with CMD's status as the subreaper reports it.
  close $status_w;
  my $line = <$status_r>;
  waitpid($reaper, POSIX::WNOHANG());
  exit(defined $line && $line =~ /^(\d+)$/ ? $1 : 1);
}
close $status_r;
# Out of the caller's session and process group: a signal to the caller's
# group (a deadline) must not end the reaper of running guests.
POSIX::setsid();
syscall($sys_prctl, 36, 1, 0, 0, 0) == 0 or die "subreaper.pl: prctl(PR_SET_CHILD_SUBREAPER): $!\n";
my $cmd = fork() // die "subreaper.pl: fork: $!\n";
if ($cmd == 0) {
  { no warnings 'exec'; exec { $ARGV[0] } @ARGV; }
  print STDERR "subreaper.pl: exec $ARGV[0]: $!\n";
  POSIX::_exit(127);
}
# Reaping every child meanwhile: an orphan may exit before CMD does.
my $code;
while (!defined $code) {
  my $pid = waitpid(-1, 0);
  if ($pid == $cmd) {
    $code = $? & 127 ? 128 + ($? & 127) : $? >> 8;
  } elsif ($pid < 0 && !$!{EINTR}) {
    $code = 1;
  }
}
# The caller's pipes close with this process's copies of them.
open STDIN, '<', '/dev/null';
open STDOUT, '>', '/dev/null';
open STDERR, '>', '/dev/null';
print {$status_w} "$code\n";
close $status_w;
# Reap until no descendant is left (ECHILD).
while (1) {
  my $pid = waitpid(-1, 0);
  last if $pid < 0 && !$!{EINTR};
}
exit 0;
