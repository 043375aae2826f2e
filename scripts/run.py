#!/usr/bin/env python3
"""Run web, Celery worker and Celery beat together for `make run`; Ctrl-C stops all three cleanly.

Why not honcho or similar: they SIGTERM whole process groups, which kills Celery's pool mid-task.
Here each child runs in its own process group (so the terminal's Ctrl-C reaches only this launcher),
and on shutdown only each main process gets SIGTERM: the worker then does a warm shutdown.
Standard library only, so it runs before anything else is installed.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

GRACE_SECONDS = 20  # a warm Celery shutdown waits for running tasks
ALL_PROCESSES = ("web", "worker", "beat")

output_lock = threading.Lock()


def commands(port: int) -> dict[str, list[str]]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "workflow_site"]
    return {
        "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [*celery, "worker", "-l", "info", "--concurrency", "2", "-n", "worker@%h"],
        "beat": [*celery, "beat", "-l", "info"],
    }


def say(text: str) -> None:
    with output_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def forward(name: str, stream) -> None:
    prefix = f"{name:<6} | ".encode()
    for line in iter(stream.readline, b""):
        with output_lock:
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()


def start(name: str, argv: list[str], port: int) -> subprocess.Popen:
    # Links in e-mails (the worker's too) point at the port served here, unless SITE_URL says otherwise.
    env = {"SITE_URL": f"http://127.0.0.1:{port}", **os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        process_group=0,
    )
    proc.reader = threading.Thread(target=forward, args=(name, proc.stdout), daemon=True)
    proc.reader.start()
    return proc


def announce_when_listening(port: int, procs: dict[str, subprocess.Popen]) -> None:
    # Printed once the port answers, so the URL is the last thing the user sees after the start-up banners.
    while procs["web"].poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                say(f"\n  RDEC Workflow: http://127.0.0.1:{port}/   (Ctrl-C stops web, worker and beat)\n")
                return
        except OSError:
            time.sleep(0.3)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_all(procs: dict[str, subprocess.Popen], stop_requests: list[int]) -> None:
    requests_before = len(stop_requests)
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()  # the main process only: Celery's pool must not be signalled directly
    deadline = time.monotonic() + GRACE_SECONDS
    while any(p.poll() is None for p in procs.values()):
        # A second Ctrl-C means "don't wait".
        if time.monotonic() > deadline or len(stop_requests) > requests_before:
            break
        time.sleep(0.1)
    for name, proc in procs.items():
        if proc.poll() is None:
            say(f"{name} did not stop in time: killing it")
        # Also reaps anything a main process left behind in its group (an orphaned pool child).
        signal_group(proc, signal.SIGKILL)
        proc.wait()
        proc.reader.join(timeout=2)  # let its last lines out before the summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--only", nargs="+", choices=ALL_PROCESSES, default=list(ALL_PROCESSES))
    args = parser.parse_args()

    # Checked first: otherwise the announcement below would greet whatever else answers on the port.
    if "web" in args.only and not port_is_free(args.port):
        say(f"Port {args.port} on 127.0.0.1 is in use: stop what uses it, or `make run PORT={args.port + 1}`.")
        return 1

    stop_requests: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stop_requests.append(signum))

    procs = {name: start(name, argv, args.port) for name, argv in commands(args.port).items() if name in args.only}
    if "web" in procs:
        threading.Thread(target=announce_when_listening, args=(args.port, procs), daemon=True).start()

    failed = None
    while not stop_requests and failed is None:
        failed = next((name for name, proc in procs.items() if proc.poll() is not None), None)
        time.sleep(0.2)

    if failed:
        say(f"{failed} exited with status {procs[failed].returncode}: stopping the others")
    else:
        say("Stopping web, worker and beat (Ctrl-C again to kill them now)")
    stop_all(procs, stop_requests)
    for name, proc in procs.items():
        say(f"{name} exited with status {proc.returncode}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
