"""Runs a command on a pseudo-terminal, answers its typed question, and reports what it wrote.

usage: pty_answer.py QUESTION ANSWER -- COMMAND [ARGS...]

The command gets a real terminal on stdin, stdout and stderr (so `std::io::IsTerminal` holds).
Once QUESTION appears in what it writes, ANSWER is typed followed by Enter. Everything the
terminal showed (the answer's echo included) goes to stdout; the exit code is the command's.
Exit 98 if the question never came (the command ended first), 97 if the command outlived 120 s
(it is killed); both say why on stderr. Used by tests/cli_confirm_tty.rs.
"""

import os
import pty
import select
import signal
import sys
import time


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    question, answer, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    shown = b""
    asked = False
    deadline = time.monotonic() + 120
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stdout.write(shown.decode(errors="replace"))
            sys.stderr.write("the command outlived 120 s and was killed\n")
            return 97
        ready, _, _ = select.select([fd], [], [], 0.5)
        if fd not in ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the command closed the terminal's other end
            data = b""
        if not data:
            break
        shown += data
        if not asked and question.encode() in shown:
            # Enter on a terminal is a carriage return; the line discipline makes it a newline.
            os.write(fd, answer.encode() + b"\r")
            asked = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(shown.decode(errors="replace"))
    if not asked:
        sys.stderr.write(f"the question {question!r} never came\n")
        return 98
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
