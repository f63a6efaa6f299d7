"""kgrade's guest agent: PID 1 of a VM sandbox (images/vm/init.sh starts it).

It answers the grader over a virtio-serial port, one JSON object per line:
  {"id": 1, "op": "hello", "now": <ms since the epoch>, "seed": "<base64>"}
    -> {"id": 1, "kernel": "6.1.0-...", "cgroup": "v1"}
    The hello sets the clock and mixes the seed into the kernel's random pool,
    then reseeds it: a VM started from a saved state would otherwise run with
    the clock and the random state of the moment it was saved, all alike.
  {"id": 2, "op": "exec", "argv": [...], "stdin": "<base64>" | null,
   "timeoutMs": 30000, "cap": 1048576}
    -> {"id": 2, "code": 0 | null, "signal": null | 9, "stdout": "<base64>",
        "stderr": "<base64>", "timedOut": false, "truncated": false,
        "durationMs": 12}
    -> {"id": 2, "error": "cannot run ...: ..."} when argv cannot be started.
Each command runs in a session of its own, in the cgroup kgrade-commands
(pids and cpu): however many processes it starts, the agent (outside it)
can still start the next command and gets its share of the CPU. At its
deadline the session gets
SIGTERM, three seconds later SIGKILL (timeout(1)'s -k 3): code 124, or 137
when SIGKILL was needed. Output past the cap is read and dropped. As PID 1
the agent reaps every process; an orphan's status is dropped, never kept
for a later command that is given the orphan's PID.
"""
import base64
import fcntl
import io
import json
import os
import select
import signal
import struct
import tarfile
import threading
import time

PORT_NAME = "kgrade.agent"
ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "HOSTNAME": "node",
}
KILL_GRACE_S = 3.0
# Python ignores or handles these itself; a command gets the defaults, as from any other init.
CHILD_DEFAULTS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT)
# Far below the kernel's own limits (pid_max 32768, threads-max 16384 at 2 GiB): a fork bomb stops
# here, and the agent keeps the room to start its threads and the next command. Lower than a
# userns sandbox's 4096 because the VM has one CPU, emulated under TCG: with a fork bomb at 4096
# a command in this cgroup did not even start within 60 s; at 512 it ran at once and was told
# "Cannot fork", which the grader reports as the script's doing.
COMMANDS_CGROUP = "kgrade-commands"
COMMANDS_PIDS_MAX = 512
# Joins the cgroup (best effort: a command that removed it runs anyway), then becomes the command.
JOIN = 'for f in $KGRADE_CGROUP_PROCS; do echo $$ > "$f"; done 2>/dev/null; unset KGRADE_CGROUP_PROCS; exec "$@"'

lock = threading.Condition()
exited = {}  # pid -> wait status of a command, filled by the reaper, taken by collect()
commands = set()  # the PIDs of the commands running now (orphans are reaped and forgotten)
spawned = threading.Event()  # set after every spawn, for a reaper with no child to wait on
write_lock = threading.Lock()
COMMANDS_PROCS = []  # the cgroup.procs files a command joins (make_commands_cgroup)


def find_port():
    base = "/sys/class/virtio-ports"
    for _ in range(400):
        if os.path.isdir(base):
            for entry in os.listdir(base):
                try:
                    with open(os.path.join(base, entry, "name")) as f:
                        if f.read().strip() == PORT_NAME:
                            return "/dev/" + entry
                except OSError:
                    pass
        time.sleep(0.05)
    raise SystemExit("kgrade-agent: no virtio port named " + PORT_NAME)


def reaper():
    """Reaps every child and orphan. Only a command's status is kept: an orphan's PID can be given
    to a later command, which must never be handed the orphan's old status. The zombie is looked
    at first (WNOWAIT, so its PID is not free yet) and reaped under the lock that run() holds
    while it spawns and records a command, so a command that ends at once is never missed."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            # No child yet: the next spawn wakes this at once (a sleep here cost every command up to its length).
            spawned.wait(0.5)
            spawned.clear()
            continue
        except InterruptedError:
            continue
        if info is None:
            continue
        with lock:
            try:
                pid, status = os.waitpid(info.si_pid, 0)
            except (ChildProcessError, InterruptedError):
                continue
            if pid in commands:
                exited[pid] = status
                lock.notify_all()


class Capped:
    """A command's output from one pipe, keeping at most cap bytes (the rest is read and dropped)."""

    def __init__(self, cap):
        self.chunks, self.kept, self.cap, self.truncated = [], 0, cap, False

    def take(self, block):
        room = self.cap - self.kept
        if len(block) > room:
            self.truncated = True
        if room > 0:
            self.chunks.append(block[:room])
            self.kept += min(room, len(block))

    def data(self):
        return b"".join(self.chunks)


def collect(pid, pipes, deadline):
    """Reads the pipes (fd -> Capped) while the command runs, ends it at the deadline (SIGTERM,
    then SIGKILL after KILL_GRACE_S), and once it has ended reads whatever it wrote that is still
    in the pipes; a background process holding a pipe open is not waited for. One thread reads
    everything, so nothing the command wrote is cut off by a reader not yet scheduled (a busy
    guest under TCG). Returns (wait status, timed out, killed)."""
    poller = select.poll()
    for fd in pipes:
        poller.register(fd, select.POLLIN)
    open_fds = set(pipes)

    def read_ready(timeout_ms):
        for fd, _ in poller.poll(timeout_ms):
            try:
                block = os.read(fd, 65536)
            except OSError:
                block = b""
            if block:
                pipes[fd].take(block)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)

    timed_out = killed = False
    kill_at = None
    while True:
        with lock:
            status = exited.pop(pid, None)
            if status is None and not open_fds:
                # Nothing to read: sleep until the reaper says the command ended, or a deadline.
                lock.wait(max(0.0, min(deadline if not timed_out else kill_at, time.monotonic() + 0.5) - time.monotonic()))
                status = exited.pop(pid, None)
            if status is not None:
                commands.discard(pid)
        if status is not None:
            break
        now = time.monotonic()
        if not timed_out and now >= deadline:
            timed_out, kill_at = True, now + KILL_GRACE_S
            signal_group(pid, signal.SIGTERM)
        elif timed_out and not killed and now >= kill_at:
            killed = True
            signal_group(pid, signal.SIGKILL)
            kill_at = float("inf")
        if open_fds:
            read_ready(50)
    # The command has ended: what it wrote before is in the pipes now, readable at once.
    while open_fds and poller.poll(0):
        read_ready(0)
    for fd in set(pipes) - open_fds:
        os.close(fd)
    # A background process still holds these: read and drop what it writes, so that it never
    # meets a closed pipe (SIGPIPE) or a full one.
    for fd in open_fds:
        try:
            threading.Thread(target=discard, args=(fd,), daemon=True).start()
        except RuntimeError:
            pass  # no thread to be had: the pipe stays open, unread
    return status, timed_out, killed


def discard(fd):
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass
    os.close(fd)


def signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except OSError:
        pass


def feed(fd, data):
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError:
        pass
    finally:
        os.close(fd)


def make_commands_cgroup():
    """The cgroup.procs files of kgrade-commands, made with its limits; [] when it cannot be made."""
    procs = []
    try:
        if cgroup_version() == "v2":
            with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
                f.write("+pids +cpu")
            dirs = [("/sys/fs/cgroup/" + COMMANDS_CGROUP, True)]
        else:
            dirs = [("/sys/fs/cgroup/%s/%s" % (c, COMMANDS_CGROUP), c == "pids") for c in ("pids", "cpu")]
        for d, limited in dirs:
            os.makedirs(d, exist_ok=True)
            if limited:
                with open(d + "/pids.max", "w") as f:
                    f.write(str(COMMANDS_PIDS_MAX))
            procs.append(d + "/cgroup.procs")
    except OSError as e:
        print("kgrade-agent: commands run without the cgroup %s: %s" % (COMMANDS_CGROUP, e), flush=True)
        return []
    return procs


def runnable(name):
    """Whether execvp could find name: so that a missing program is an error reply, as before the cgroup wrapper."""
    if "/" in name:
        return os.access(name, os.X_OK) and not os.path.isdir(name)
    for d in ENV["PATH"].split(":"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK) and not os.path.isdir(p):
            return True
    return False


def run(req):
    argv = req["argv"]
    if not runnable(argv[0]):
        return {"error": "cannot run %s: No such file or directory" % argv[0]}
    timeout = max(1, int(req.get("timeoutMs", 30000))) / 1000.0
    cap = int(req.get("cap", 1 << 20))
    stdin = req.get("stdin")
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    actions = [
        (os.POSIX_SPAWN_DUP2, in_r, 0),
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
    ]
    spawn_env = dict(ENV, KGRADE_CGROUP_PROCS=" ".join(COMMANDS_PROCS))
    started = time.monotonic()
    try:
        # Under the lock: the reaper cannot reap this command before it is known to be one.
        with lock:
            pid = os.posix_spawn(
                "/bin/sh", ["sh", "-c", JOIN, argv[0]] + argv, spawn_env, file_actions=actions, setsid=True, setsigdef=CHILD_DEFAULTS
            )
            commands.add(pid)
    except OSError as e:
        for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
            os.close(fd)
        return {"error": "cannot run %s: %s" % (argv[0], e.strerror)}
    spawned.set()
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    if stdin:
        threading.Thread(target=feed, args=(in_w, base64.b64decode(stdin)), daemon=True).start()
    else:
        os.close(in_w)  # end of file at once, with no thread to start
    out, err = Capped(cap), Capped(cap)
    status, timed_out, killed = collect(pid, {out_r: out, err_r: err}, started + timeout)
    if os.WIFEXITED(status):
        code, sig = os.WEXITSTATUS(status), None
    else:
        code, sig = None, os.WTERMSIG(status)
    if timed_out:
        code, sig = (137 if killed else 124), None
    return {
        "code": code,
        "signal": sig,
        "stdout": base64.b64encode(out.data()).decode(),
        "stderr": base64.b64encode(err.data()).decode(),
        "timedOut": timed_out,
        "truncated": out.truncated or err.truncated,
        "durationMs": int((time.monotonic() - started) * 1000),
    }


def unpack(req):
    """Writes a tar archive's members under req["dir"], as `tar -x` run as root would (modes, times,
    links, FIFOs; the archive's owner is root). Done here rather than by tar(1): under emulation the
    two processes a copy started cost a VM 0.25 s of each scenario. The grader packs the archive
    from a folder on the host, so no member's path leaves dir or passes through a link it holds;
    and whatever the archive held, it lands in a disposable VM whose root is the submission's."""
    started = time.monotonic()
    dest = req["dir"]
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(req.get("archive") or "")), mode="r:") as tar:
        tar.extractall(dest, numeric_owner=True)
    return {"durationMs": int((time.monotonic() - started) * 1000)}


RNDADDENTROPY = 0x40085203  # _IOW('R', 0x03, int[2])
RNDRESEEDCRNG = 0x5207  # _IO('R', 0x07)


def settle(req):
    now = req.get("now")
    if isinstance(now, (int, float)) and now > 0:
        time.clock_settime(time.CLOCK_REALTIME, now / 1000.0)
    seed = base64.b64decode(req.get("seed") or "")
    if seed:
        fd = os.open("/dev/urandom", os.O_WRONLY)
        try:
            fcntl.ioctl(fd, RNDADDENTROPY, struct.pack("ii", len(seed) * 8, len(seed)) + seed)
            fcntl.ioctl(fd, RNDRESEEDCRNG)
        finally:
            os.close(fd)


def cgroup_version():
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == "/sys/fs/cgroup":
                return "v2" if fields[2] == "cgroup2" else "v1"
    return "none"


def answer(port, req):
    reply = {"id": req.get("id")}
    try:
        if req.get("op") == "hello":
            settle(req)
            reply.update(kernel=os.uname().release, cgroup=cgroup_version())
        elif req.get("op") == "exec":
            reply.update(run(req))
        elif req.get("op") == "unpack":
            reply.update(unpack(req))
        else:
            reply["error"] = "unknown op %r" % req.get("op")
    except Exception as e:  # the grader is told; the agent stays up
        reply["error"] = "agent: %s: %s" % (type(e).__name__, e)
    line = (json.dumps(reply) + "\n").encode()
    with write_lock:
        view = memoryview(line)
        while view:
            view = view[os.write(port, view):]


def main():
    # As PID 1 the agent receives from inside only the signals it handles: Python's SIGINT
    # handler would let `kill -INT 1` end it, and the VM with it. With the default action the
    # kernel drops such signals, as it drops SIGKILL.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # No oom_score_adj of -1000 here: the OOM killer never picks PID 1 anyway, and every command
    # would inherit it, so a memory cgroup over its limit found nothing to kill and its process
    # hung in the page fault (ch03's `ls` in a 10-byte cgroup waited out the step's deadline).
    COMMANDS_PROCS.extend(make_commands_cgroup())
    threading.Thread(target=reaper, daemon=True).start()
    port = os.open(find_port(), os.O_RDWR)
    buf = b""
    while True:
        block = os.read(port, 1 << 20)
        if not block:
            time.sleep(0.05)
            continue
        buf += block
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                req = json.loads(line)
            except ValueError:
                continue
            try:
                threading.Thread(target=answer, args=(port, req), daemon=True).start()
            except RuntimeError:  # no thread to be had: answer here rather than end PID 1 (and the VM)
                answer(port, req)


main()
