"""Runs a command on a pseudo-terminal (stdin, stdout and stderr all on it,
100 columns wide), prints everything the command wrote there, and exits with
the command's exit code.

The CLI tests use it to see what congvan draws when a person runs it in a
terminal, which differs from what it writes into a pipe.
"""

import fcntl
import os
import pty
import struct
import sys
import termios


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: run_in_pty.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    pid, fd = pty.fork()
    if pid == 0:
        # Child: set the terminal's size before the program can ask for it.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.execvp(sys.argv[1], sys.argv[1:])
    written = bytearray()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            # EIO: the program exited and the terminal closed.
            break
        if not chunk:
            break
        written += chunk
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(written))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
