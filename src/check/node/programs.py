# Runs on the node (python3 -I -S): for each program path, as seen from inside ROOT,
# says whether it exists, whether it is static, which loader it names and which
# of its libraries the loader cannot find inside ROOT. Prints one JSON object a line.
# It imports only modules built into the interpreter and struct: in a VM under
# emulation, importing json and subprocess took longer than the work itself.
import marshal
import os
import select
import struct
import sys

root = sys.argv[1]
programs = sys.argv[2:]
# How long the root's loader may take to list a program's libraries (in the node's time).
LOADER_DEADLINE_S = 20


def to_json(value):
    """JSON, in ASCII, for what is printed here: dicts, lists, str, int, bool and None."""
    if value is None:
        return 'null'
    if value is True or value is False:
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            o = ord(ch)
            if ch in '"\\':
                out.append('\\' + ch)
            elif 0x20 <= o < 0x7f:
                out.append(ch)
            elif o > 0xffff:
                o -= 0x10000
                out.append('\\u%04x\\u%04x' % (0xd800 | (o >> 10), 0xdc00 | (o & 0x3ff)))
            else:
                out.append('\\u%04x' % o)
        out.append('"')
        return ''.join(out)
    if isinstance(value, list):
        return '[' + ', '.join(to_json(v) for v in value) + ']'
    if isinstance(value, dict):
        return '{' + ', '.join(to_json(str(k)) + ': ' + to_json(v) for k, v in value.items()) + '}'
    raise TypeError('no JSON for %s' % type(value).__name__)


def read_elf(prog):
    """Inside the root: whether prog exists, is a script or an ELF program, and which loader it names."""
    if not os.path.exists(prog):
        return {'exists': False}
    with open(prog, 'rb') as f:
        head = f.read(64)
        if head[:4] != b'\x7fELF':
            return {'exists': True, 'elf': False, 'script': head[:2] == b'#!'}
        is64 = head[4] == 2
        endian = '<' if head[5] == 1 else '>'
        if is64:
            phoff, = struct.unpack(endian + 'Q', head[32:40])
            phentsize, phnum = struct.unpack(endian + 'HH', head[54:58])
        else:
            phoff, = struct.unpack(endian + 'I', head[28:32])
            phentsize, phnum = struct.unpack(endian + 'HH', head[42:46])
        interp = None
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ph = f.read(phentsize)
            ptype, = struct.unpack(endian + 'I', ph[:4])
            if ptype == 3:
                if is64:
                    offset, = struct.unpack(endian + 'Q', ph[8:16])
                    size, = struct.unpack(endian + 'Q', ph[32:40])
                else:
                    offset, = struct.unpack(endian + 'I', ph[4:8])
                    size, = struct.unpack(endian + 'I', ph[16:20])
                f.seek(offset)
                interp = f.read(size).rstrip(b'\0').decode()
    return {'exists': True, 'elf': True, 'interp': interp,
            'interpExists': interp is None or os.path.exists(interp)}


def inspect_inside_root(prog):
    """In a child process: chroot, then read the program's ELF header."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.chroot(root)
            os.chdir('/')
            out = read_elf(prog)
        except Exception as e:  # reported, not raised: the parent decides
            out = {'error': str(e)}
        os.write(w, marshal.dumps(out))
        os._exit(0)
    os.close(w)
    data = read_all(r)
    os.waitpid(pid, 0)
    return marshal.loads(data) if data else {}


def read_all(fd):
    data = b''
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data


def list_libraries(interp, prog):
    """Runs `interp --list prog` inside the root: (exit status or None, stdout, stderr)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_r)
            os.close(err_r)
            os.dup2(os.open('/dev/null', os.O_RDONLY), 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.chroot(root)
            os.chdir('/')
            os.execv(interp, [interp, '--list', prog])
        except BaseException as e:
            os.write(2, ('cannot run %s inside %s: %s' % (interp, root, e)).encode())
        os._exit(127)
    os.close(out_w)
    os.close(err_w)
    chunks = {out_r: [], err_r: []}
    open_fds = set(chunks)
    poller = select.poll()
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    deadline = os.times().elapsed + LOADER_DEADLINE_S
    while open_fds:
        left = deadline - os.times().elapsed
        if left <= 0:
            os.kill(pid, 9)
            break
        for fd, _ in poller.poll(left * 1000):
            block = os.read(fd, 65536)
            if block:
                chunks[fd].append(block)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    for fd in chunks:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    text = lambda fd: b''.join(chunks[fd]).decode('utf-8', 'replace')
    if open_fds:
        return None, text(out_r), 'the loader did not finish within %d s' % LOADER_DEADLINE_S
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    return code, text(out_r), text(err_r)


for prog in programs:
    info = inspect_inside_root(prog)
    info['program'] = prog
    if info.get('elf') and info.get('interp') and info.get('interpExists'):
        code, stdout, stderr = list_libraries(info['interp'], prog)
        missing = []
        found = []
        for line in stdout.splitlines():
            line = line.strip()
            if '=> not found' in line:
                missing.append(line.split()[0])
            elif '=>' in line:
                found.append(line.split()[0])
        info['missing'] = missing
        info['libraries'] = found
        info['loaderExit'] = code
        info['loaderError'] = stderr.strip()[:500]
    print(to_json(info))
