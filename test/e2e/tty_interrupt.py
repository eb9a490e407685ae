"""Runs a command on a pseudo-terminal as a user would: waits for a text, presses Ctrl-C, answers the prompt.

usage: tty_interrupt.py WAIT_FOR PROMPT ANSWER -- COMMAND...
Prints everything the command wrote to its terminal and exits with the command's exit status; gives up (exit 124)
when WAIT_FOR or PROMPT does not appear within 120 s.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def main() -> int:
    wait_for, prompt, answer = sys.argv[1], sys.argv[2], sys.argv[3]
    command = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        # A terminal 200 columns wide, so that status lines are not cut short.
        fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        os.execvp(command[0], command)
    seen = b""

    def read_until(text: bytes, deadline: float) -> bool:
        nonlocal seen
        while text not in seen:
            if time.time() > deadline:
                return False
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return False
                if not chunk:
                    return False
                seen += chunk
        return True

    ok = read_until(wait_for.encode(), time.time() + 120)
    if ok:
        os.write(fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT to the foreground process group
        ok = read_until(prompt.encode(), time.time() + 120)
        if ok:
            os.write(fd, answer.encode() + b"\r")
            read_until(b"\0never\0", time.time() + 120)  # to the end of its output
    if not ok:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode("utf-8", "replace"))
    return os.waitstatus_to_exitcode(status) if ok else 124


if __name__ == "__main__":
    sys.exit(main())
