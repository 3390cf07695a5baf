"""Killing a child process while it writes a file (the checkpoint-fault tests)."""
import signal
import time

import pytest


def kill_while_writing(start_child, target, restore, attempts: int = 10):
    """SIGKILL the writer that ``start_child()`` starts (it prints ``ready`` first) as soon
    as its temporary file beside ``target`` has data. When the write finished before the
    kill landed, ``restore()`` rewrites the previous file and it is tried again.
    Returns the killed writer's temporary files (a killed process cannot remove them)."""
    pattern = f".{target.name}.*.tmp"
    previous = target.read_bytes()
    for _ in range(attempts):
        proc = start_child()
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        deadline = time.monotonic() + 30
        temps = []
        while time.monotonic() < deadline and proc.poll() is None:
            temps = [p for p in target.parent.glob(pattern) if p.stat().st_size > 0]
            if temps:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        if target.read_bytes() != previous:       # the write finished first: start again
            restore()
            continue
        if proc.returncode == -signal.SIGKILL and any(p.exists() for p in temps):
            return temps
    pytest.fail(f"the SIGKILL never landed while {target.name} was written, in {attempts} "
                f"attempts")
