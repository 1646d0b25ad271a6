#!/usr/bin/env python3
"""Runs a tandem binary under the restrictions of deploy/tandem.service that can be set up
without systemd, and checks that the broker works there.

What is reproduced, read from the unit file:
  User=                    the process runs as nobody (not root), with no supplementary groups
  NoNewPrivileges=yes      prctl(PR_SET_NO_NEW_PRIVS)
  MemoryDenyWriteExecute=  the kernel's own equivalent, prctl(PR_SET_MDWE, REFUSE_EXEC_GAIN)
                           (Linux 6.3 and later; skipped before)
  SystemCallFilter=        a seccomp filter from the unit's allow and deny lists, expanded
                           with `systemd-analyze syscall-filter`, other calls failing with
                           SystemCallErrorNumber=
  RestrictAddressFamilies= socket() of any other family fails with EAFNOSUPPORT
Not reproduced: the file system and namespace settings (ProtectSystem=, PrivateTmp=, …);
with strace, the files the broker writes outside its data directory are listed instead,
and every system call it makes is compared with the filter.

Scenarios:
  serve  the broker with a development certificate on a free port: /healthz, /readyz,
         /metrics, /agent over TLS, `tandem users add` (confined as well), then SIGTERM;
         it must stop within TimeoutStopSec with status 0
  bench  `tandem bench` (a broker and paired TLS sessions in one process) for 3 s: every
         frame must arrive

Usage: confine.py --unit deploy/tandem.service --binary PATH [--strace]
Exit status 0 when everything works, 1 when something failed, 77 when it cannot run here.
"""

import argparse
import ctypes
import ctypes.util
import errno
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ, SCMP_CMP_GE = 4, 5


def SCMP_ACT_ERRNO(value):
    return 0x00050000 | (value & 0xFFFF)


class ScmpArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def unit_settings(path):
    settings = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        settings.setdefault(key, []).append(value)
    return settings


def expand(group, seen=None):
    """The system calls of a name or @group, as systemd-analyze lists them."""
    if not group.startswith("@"):
        return {group}
    seen = seen if seen is not None else set()
    if group in seen:
        return set()
    seen.add(group)
    listing = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in listing.splitlines()[1:]:
        word = line.strip().split(" ")[0] if line.strip() else ""
        if word and not word.startswith("#"):
            names |= expand(word, seen)
    return names


def syscall_policy(settings):
    """(allowed system call names, errno for the others) as systemd builds it from the unit."""
    allowed, denied = None, set()
    for value in settings.get("SystemCallFilter", []):
        negate = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand(item)
        if negate:
            if allowed is None:
                denied |= names
            else:
                allowed -= names
        else:
            allowed = names if allowed is None else allowed | names
    number = settings.get("SystemCallErrorNumber", ["EPERM"])[-1]
    return allowed, denied, getattr(errno, number, errno.EPERM)


def families(settings):
    value = settings.get("RestrictAddressFamilies", [None])[-1]
    if not value:
        return None
    return {getattr(socket, name) for name in value.split()}


STARTED = []  # processes this script started, ended when it exits however it exits


def end_started():
    for process in STARTED:
        if process.poll() is None:
            # A broker under strace is strace's child: strace killed would leave it running.
            children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True).stdout.split()
            for child in children:
                try:
                    os.kill(int(child), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.kill()
            process.wait()


class Confinement:
    def __init__(self, settings, seccomp_on):
        self.settings = settings
        self.seccomp_on = seccomp_on
        self.allowed, self.denied, self.errno = syscall_policy(settings)
        self.families = families(settings)
        self.mdwe = settings.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes"
        self.user = pwd.getpwnam("nobody")
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.mdwe_supported = self._probe_mdwe()
        self.filter = self._build_filter() if seccomp_on else None

    def _probe_mdwe(self):
        """Whether this kernel knows PR_SET_MDWE (asked in a child, so this process stays unrestricted)."""
        pid = os.fork()
        if pid == 0:
            os._exit(0 if self.libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == 0 else 1)
        return os.waitpid(pid, 0)[1] == 0

    def _build_filter(self):
        path = ctypes.util.find_library("seccomp")
        if not path:
            raise RuntimeError("libseccomp not found")
        lib = ctypes.CDLL(path, use_errno=True)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ScmpArgCmp)]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        if self.allowed is not None:
            ctx = lib.seccomp_init(SCMP_ACT_ERRNO(self.errno))
            rules = [(name, SCMP_ACT_ALLOW) for name in self.allowed - self.denied]
        else:
            ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
            rules = [(name, SCMP_ACT_ERRNO(self.errno)) for name in self.denied]
        if not ctx:
            raise RuntimeError("seccomp_init failed")

        def add(name, action, *comparisons):
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                return  # not a call of this architecture
            array = (ScmpArgCmp * len(comparisons))(*comparisons) if comparisons else None
            result = lib.seccomp_rule_add_array(ctx, action, number, len(comparisons), array)
            if result not in (0, -errno.EEXIST) and not (result == -errno.EACCES and action == SCMP_ACT_ALLOW):
                raise RuntimeError("seccomp_rule_add %s: %d" % (name, result))

        for name, action in sorted(rules):
            if name == "socket" and self.families is not None:
                continue
            add(name, action)
        if self.families is not None:
            refuse = SCMP_ACT_ERRNO(errno.EAFNOSUPPORT)
            for family in sorted(self.families):
                add("socket", SCMP_ACT_ALLOW, ScmpArgCmp(0, SCMP_CMP_EQ, family, 0))
            top = max(self.families)
            for family in range(0, top):
                if family not in self.families:
                    add("socket", refuse, ScmpArgCmp(0, SCMP_CMP_EQ, family, 0))
            add("socket", refuse, ScmpArgCmp(0, SCMP_CMP_GE, top + 1, 0))
        self._lib = lib
        return ctx

    def preexec(self):
        """Runs in the child after subprocess dropped to nobody, just before exec."""
        if self.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            os._exit(120)
        if self.mdwe and self.mdwe_supported and self.libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
            os._exit(121)
        if self.filter is not None and self._lib.seccomp_load(self.filter) != 0:
            os._exit(122)

    def popen(self, argv, **kw):
        process = subprocess.Popen(
            argv,
            user=self.user.pw_uid,
            group=self.user.pw_gid,
            extra_groups=[],
            preexec_fn=self.preexec,
            **kw,
        )
        STARTED.append(process)
        return process

    def describe(self):
        parts = ["as nobody", "no new privileges"]
        if self.mdwe:
            parts.append("PR_SET_MDWE" if self.mdwe_supported else "no MDWE (kernel before 6.3)")
        if self.filter is not None:
            parts.append("seccomp: %d calls allowed, others %s" % (len(self.allowed - self.denied), errno.errorcode[self.errno]))
            if self.families is not None:
                parts.append("socket families %s" % " ".join(sorted(socket.AddressFamily(f).name for f in self.families)))
        return ", ".join(parts)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=context, timeout=3) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError as error:
        return None, str(error)


class Checks:
    def __init__(self):
        self.failures = 0

    def ok(self, text):
        print("ok: " + text)

    def fail(self, text):
        print("FAIL: " + text)
        self.failures += 1


def serve(confinement, binary, workdir, timeout_stop, checks, strace_file=None):
    data = os.path.join(workdir, "data")
    os.makedirs(workdir, exist_ok=True)
    os.chown(workdir, confinement.user.pw_uid, confinement.user.pw_gid)
    port = free_port()
    argv = [binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data]
    if strace_file:
        argv = ["strace", "-f", "-qq", "-o", strace_file, "--"] + argv
    log = open(os.path.join(workdir, "serve.log"), "w")
    process = confinement.popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    base = "https://127.0.0.1:%d" % port
    for _ in range(100):
        status, body = get(base + "/healthz")
        if status == 200 or process.poll() is not None:
            break
        time.sleep(0.2)
    if status == 200 and body.strip() == "ok":
        checks.ok("serve: /healthz over TLS")
        for path, want in [("/readyz", "ready"), ("/metrics", "tandem_sessions"), ("/agent", "<")]:
            status, body = get(base + path)
            if status == 200 and want in body:
                checks.ok("serve: %s" % path)
            else:
                checks.fail("serve: %s answered %s" % (path, status))
        users = confinement.popen(
            [binary, "users", "add", "confined-check", "--role", "agent", "--data-dir", data],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workdir, text=True,
        )
        output = users.communicate(timeout=60)[0]
        if users.returncode == 0 and "tdm_" in output:
            checks.ok("users add beside the running broker")
        else:
            checks.fail("users add: status %s: %s" % (users.returncode, output.strip()[-300:]))
    else:
        checks.fail("serve: no /healthz (%s); log:\n%s" % (body, open(log.name).read()[-2000:]))
    started = time.monotonic()
    target = process.pid
    if strace_file:  # SIGTERM goes to the broker, not to strace
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True, text=True).stdout.split()
        target = int(children[0]) if children else process.pid
    try:
        os.kill(target, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        status = process.wait(timeout=timeout_stop + 5)
    except subprocess.TimeoutExpired:
        process.kill()
        status = process.wait()
    elapsed = time.monotonic() - started
    if status == 0 and elapsed < timeout_stop:
        checks.ok("serve: stopped on SIGTERM in %.2f s (TimeoutStopSec %d s), status 0" % (elapsed, timeout_stop))
    else:
        checks.fail("serve: SIGTERM: status %s after %.1f s (TimeoutStopSec %d s); log:\n%s" % (status, elapsed, timeout_stop, open(log.name).read()[-2000:]))
    return data


def bench(confinement, binary, workdir, checks):
    os.makedirs(workdir, exist_ok=True)
    os.chown(workdir, confinement.user.pw_uid, confinement.user.pw_gid)
    argv = [binary, "bench", "--scenario", "frames", "--sessions", "2", "--fps", "10", "--size", "20000", "--duration", "3"]
    run = confinement.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workdir, text=True, env=dict(os.environ, HOME=workdir))
    output = run.communicate(timeout=180)[0]
    m = re.search(r"frames:\s+(\d+) of (\d+) delivered", output)
    if run.returncode == 0 and m and m.group(1) == m.group(2) and int(m.group(2)) > 0:
        checks.ok("bench: %s of %s frames over TLS WebSockets" % (m.group(1), m.group(2)))
    else:
        checks.fail("bench: status %s:\n%s" % (run.returncode, output[-2000:]))


def strace_report(path, data, confinement, checks):
    """Every call the broker made against the filter; files written outside the data directory."""
    text = open(path).read()
    names = set(re.findall(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)(?:\(| resumed>)", text, re.M))
    allowed = (confinement.allowed or set()) - confinement.denied
    outside = sorted(n for n in names if n not in allowed) if confinement.allowed is not None else sorted(names & confinement.denied)
    if outside:
        checks.fail("strace: calls outside SystemCallFilter=: %s" % ", ".join(outside))
    else:
        checks.ok("strace: all %d system calls the broker made are in SystemCallFilter=" % len(names))
    families_used = set(re.findall(r"socket\((AF_[A-Z0-9]+)", text))
    if confinement.families is not None:
        extra = families_used - {socket.AddressFamily(f).name for f in confinement.families}
        print("note: socket families used: %s%s" % (
            " ".join(sorted(families_used)),
            "; outside RestrictAddressFamilies=: %s (glibc's getaddrinfo interface probe falls back when refused)" % " ".join(sorted(extra)) if extra else "",
        ))
    written = set()
    for m in re.finditer(r'(?<![a-z_0-9])(openat|open|creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|rmdir|symlink|link|chmod|fchmodat|truncate)\((?:AT_FDCWD, )?"([^"]+)"([^\n]*)', text):
        call, target, rest = m.groups()
        if call in ("openat", "open") and not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", rest):
            continue
        if "= -1" in rest:
            continue
        written.add(target)
    allowed_prefixes = (data, "/tmp/", "/dev/", "/proc/self/", "/var/tmp/")
    outside_writes = sorted(t for t in written if not t.startswith(allowed_prefixes))
    if outside_writes:
        checks.fail("writes outside the data directory (ProtectSystem=strict refuses them): %s" % ", ".join(outside_writes[:20]))
    else:
        checks.ok("writes only under the data directory (%d paths), /tmp and /dev" % len(written))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--unit", required=True)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--strace", action="store_true", help="also run the broker under strace (without seccomp) to list its calls and writes")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("SKIPPED: needs root (to run the broker as nobody)")
        sys.exit(77)
    if not shutil.which("systemd-analyze"):
        print("SKIPPED: systemd-analyze is needed to expand the system call groups")
        sys.exit(77)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(number, lambda *_: sys.exit(1))
    settings = unit_settings(args.unit)
    timeout_stop = int(re.sub(r"s$", "", settings.get("TimeoutStopSec", ["90"])[-1]))
    binary = os.path.abspath(args.binary)
    checks = Checks()
    workdir = tempfile.mkdtemp(prefix="tandem-confine-")
    os.chmod(workdir, 0o755)
    try:
        confinement = Confinement(settings, seccomp_on=True)
        print("confined: " + confinement.describe())
        serve(confinement, binary, os.path.join(workdir, "serve"), timeout_stop, checks)
        bench(confinement, binary, os.path.join(workdir, "bench"), checks)
        if args.strace:
            if shutil.which("strace"):
                traced = Confinement(settings, seccomp_on=False)
                traced_dir = os.path.join(workdir, "traced")
                trace = os.path.join(traced_dir, "strace.out")  # strace runs as nobody too
                data = serve(traced, binary, traced_dir, timeout_stop, checks, strace_file=trace)
                strace_report(trace, data, confinement, checks)
            else:
                print("SKIPPED: strace not found: the broker's calls and writes were not listed")
    finally:
        end_started()
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
