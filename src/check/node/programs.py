# Runs on the node (python3): for each program path, as seen from inside ROOT,
# says whether it exists, whether it is static, which loader it names and which
# of its libraries the loader cannot find inside ROOT. Prints one JSON object a line.
import json
import os
import struct
import subprocess
import sys

root = sys.argv[1]
programs = sys.argv[2:]


def inspect_inside_root(prog):
    """In a child process: chroot, then read the program's ELF header."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out = {}
        try:
            os.chroot(root)
            os.chdir('/')
            if not os.path.exists(prog):
                out = {'exists': False}
            else:
                with open(prog, 'rb') as f:
                    head = f.read(64)
                    if head[:4] != b'\x7fELF':
                        out = {'exists': True, 'elf': False, 'script': head[:2] == b'#!'}
                    else:
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
                        out = {'exists': True, 'elf': True, 'interp': interp,
                               'interpExists': interp is None or os.path.exists(interp)}
        except Exception as e:  # reported, not raised: the parent decides
            out = {'error': str(e)}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b''
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data or b'{}')


for prog in programs:
    info = inspect_inside_root(prog)
    info['program'] = prog
    if info.get('elf') and info.get('interp') and info.get('interpExists'):
        p = subprocess.run(['chroot', root, info['interp'], '--list', prog],
                           capture_output=True, text=True, timeout=20)
        missing = []
        found = []
        for line in p.stdout.splitlines():
            line = line.strip()
            if '=> not found' in line:
                missing.append(line.split()[0])
            elif '=>' in line:
                found.append(line.split()[0])
        info['missing'] = missing
        info['libraries'] = found
        info['loaderExit'] = p.returncode
        info['loaderError'] = p.stderr.strip()[:500]
    print(json.dumps(info))
