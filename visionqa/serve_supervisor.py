"""Runs the `manage.py serve` children, whatever their commands (visionqa/serve.py
gives them the Daphne ones).

It restarts a child that dies unexpectedly, after a backoff that doubles
while the child keeps dying young, and gives up (stopping the rest, exit
status 1) when one has died young MAX_QUICK_FAILURES times in a row: a crash
loop is a fault for whoever runs us (systemd, Docker) to see. On SIGTERM or
SIGINT it stops accepting (`on_stopping`), forwards SIGTERM to every child,
waits for them for the shutdown grace plus a margin, kills whichever is
still running, and exits (0 when every child stopped by itself).

SIGHUP replaces the children one at a time, each new one starting with the
code on disk (an upgrade without downtime). On a shared socket the new one
starts first, and once it accepts (`ready`) the old one gets SIGTERM and its
grace, as at a stop; then the next. A new one that dies while starting ends
the replacement, and the old processes go on serving. A unix socket has one
owner at a time, so there SIGHUP stops the old one first (the proxy sends to
the others meanwhile) and then starts its replacement.

Children run in a process group of their own, so a Ctrl-C in a terminal
reaches only the parent, which forwards it as SIGTERM (the graceful path);
and each gets SIGTERM from the kernel if the parent itself dies.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

# Beyond the children's own grace: time to close sockets and exit.
MARGIN_S = 5.0
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
# A child that ran this long was healthy: its death starts the backoff afresh.
STABLE_S = 30.0
MAX_QUICK_FAILURES = 5
# A replacement not seen listening by then is taken as started anyway.
READY_TIMEOUT_S = 60.0
POLL_S = 0.2
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            return  # not Linux: the child may outlive a killed parent
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@dataclass
class Child:
    slot: int
    command: list[str]
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    exits: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"process {self.slot + 1}"


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


@dataclass
class Retiring:
    """A replaced process, asked to stop, given until `deadline`."""

    name: str
    popen: subprocess.Popen[bytes]
    deadline: float


class Supervisor:
    """Runs one child per command, restarting them, until SIGTERM or SIGINT.
    SIGHUP replaces the children one by one (new code, no downtime)."""

    def __init__(
        self,
        commands: Sequence[list[str]],
        *,
        grace_s: float,
        margin_s: float = MARGIN_S,
        pass_fds: Sequence[int] = (),
        cwd: Path | None = None,
        on_stopping: Callable[[], None] | None = None,
        ready: Callable[[Child], bool] | None = None,
        start_before_stop: bool = True,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        stable_s: float = STABLE_S,
        max_quick_failures: int = MAX_QUICK_FAILURES,
        ready_timeout_s: float = READY_TIMEOUT_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.children = [Child(slot, list(command)) for slot, command in enumerate(commands)]
        self.grace_s = grace_s
        self.margin_s = margin_s
        self.pass_fds = tuple(pass_fds)
        self.cwd = cwd
        self.on_stopping = on_stopping
        self.ready = ready or (lambda child: True)
        # On a shared socket a replacement starts before the old process is
        # asked to stop; a unix socket has one owner at a time.
        self.start_before_stop = start_before_stop
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.stable_s = stable_s
        self.max_quick_failures = max_quick_failures
        self.ready_timeout_s = ready_timeout_s
        self.poll_s = poll_s
        self.stop_signal: int | None = None
        self.gave_up = False
        self.reload_requested = False
        self.retiring: list[Retiring] = []
        # The rolling replacement: slots still to do, the process being
        # replaced, and the step ("begin", "warming" or "draining").
        self.roll: list[Child] = []
        self.roll_old: subprocess.Popen[bytes] | None = None
        self.roll_old_started_at = 0.0
        self.roll_step = "begin"
        self.roll_since = 0.0

    def request_stop(self, signum: int, frame: FrameType | None = None) -> None:
        """The SIGTERM and SIGINT handler: stop at the next look round."""
        if self.stop_signal is None:
            self.stop_signal = signum

    def request_reload(self, signum: int = signal.SIGHUP, frame: FrameType | None = None) -> None:
        """The SIGHUP handler: replace every process, one at a time."""
        self.reload_requested = True

    def _start(self, child: Child) -> None:
        child.popen = subprocess.Popen(
            child.command,
            pass_fds=self.pass_fds,
            cwd=self.cwd,
            process_group=0,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("%s started (pid %d)", child.name, child.popen.pid)

    def _reap(self, child: Child) -> None:
        """A child that died while we were not stopping: schedule its restart."""
        assert child.popen is not None
        code, pid = child.popen.returncode, child.popen.pid
        child.exits.append(code)
        lived = time.monotonic() - child.started_at
        child.popen = None
        # A death after a healthy run is not part of a crash loop.
        child.quick_failures = 0 if lived >= self.stable_s else child.quick_failures + 1
        if child.quick_failures >= self.max_quick_failures:
            log.error(
                "%s %s after %.1f s, the %dth time in a row within %.0f s of starting: giving up",
                child.name,
                describe_exit(code),
                lived,
                child.quick_failures,
                self.stable_s,
            )
            self.gave_up = True
            return
        doublings = max(child.quick_failures - 1, 0)
        delay = min(self.backoff_base_s * 2**doublings, self.backoff_max_s)
        child.restart_at = time.monotonic() + delay
        log.warning(
            "%s (pid %d) %s after %.1f s; restarting it in %.1f s",
            child.name,
            pid,
            describe_exit(code),
            lived,
            delay,
        )

    def _retire(self, child: Child, popen: subprocess.Popen[bytes]) -> None:
        popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s + self.margin_s
        self.retiring.append(Retiring(child.name, popen, deadline))
        log.info("%s: the old one (pid %d) asked to stop", child.name, popen.pid)

    def _reap_retiring(self) -> None:
        for old in list(self.retiring):
            code = old.popen.poll()
            if code is not None:
                log.info(
                    "%s: the old one (pid %d) %s", old.name, old.popen.pid, describe_exit(code)
                )
                self.retiring.remove(old)
            elif time.monotonic() >= old.deadline:
                log.error(
                    "%s: the old one (pid %d) still running: killing it", old.name, old.popen.pid
                )
                old.popen.kill()

    def _next_in_roll(self) -> None:
        self.roll.pop(0)
        self.roll_old = None
        self.roll_step = "begin"
        if not self.roll:
            log.info("all %d processes replaced", len(self.children))

    def _roll_on(self) -> None:
        """One step of replacing the processes one by one, when it can be taken."""
        child = self.roll[0]
        now = time.monotonic()
        if self.roll_step == "begin":
            if child.popen is None:  # dead, and its restart brings the new code anyway
                self._next_in_roll()
                return
            self.roll_old, child.popen = child.popen, None
            self.roll_old_started_at, self.roll_since = child.started_at, now
            if self.start_before_stop:
                self._start(child)
                self.roll_step = "warming"
            else:
                self._retire(child, self.roll_old)
                self.roll_step = "draining"
        elif self.roll_step == "warming":
            if child.popen is None:  # it died starting; the crash path restarts it
                self._next_in_roll()
            elif self.ready(child) or now - self.roll_since > self.ready_timeout_s:
                if not self.ready(child):
                    log.warning(
                        "%s not seen listening after %.0f s", child.name, now - self.roll_since
                    )
                if self.start_before_stop:
                    assert self.roll_old is not None
                    self._retire(child, self.roll_old)
                    self.roll_step = "draining"
                else:
                    self._next_in_roll()
        elif self.roll_step == "draining":
            assert self.roll_old is not None
            if self.roll_old.poll() is None:
                return
            if self.start_before_stop:
                self._next_in_roll()
            else:
                self._start(child)
                self.roll_since = time.monotonic()
                self.roll_step = "warming"

    def _abandon_roll_if_the_new_one_died(self) -> None:
        """A replacement that dies while starting (new code that cannot run)
        ends the replacement: the old process goes on serving."""
        if not (self.roll and self.roll_step == "warming" and self.start_before_stop):
            return
        child = self.roll[0]
        assert child.popen is not None
        code = child.popen.poll()
        if code is None:
            return
        log.error(
            "%s: the new one (pid %d) %s while starting; keeping the old processes "
            "(send SIGHUP again once it is fixed)",
            child.name,
            child.popen.pid,
            describe_exit(code),
        )
        child.exits.append(code)
        child.popen, child.started_at = self.roll_old, self.roll_old_started_at
        self.roll, self.roll_old, self.roll_step = [], None, "begin"

    def tick(self) -> None:
        """One look round: reap and restart, retire, take the next replacement step."""
        self._abandon_roll_if_the_new_one_died()
        now = time.monotonic()
        for child in self.children:
            if child.popen is not None and child.popen.poll() is not None:
                self._reap(child)
            elif child.restart_at is not None and now >= child.restart_at:
                self._start(child)
        self._reap_retiring()
        if self.reload_requested:
            self.reload_requested = False
            if self.roll:
                log.info("SIGHUP: already replacing the processes")
            else:
                log.info("SIGHUP: replacing the %d processes one by one", len(self.children))
                self.roll = list(self.children)
        if self.roll and not self.gave_up:
            self._roll_on()

    def run(self) -> int:
        handlers = {
            signal.SIGTERM: self.request_stop,
            signal.SIGINT: self.request_stop,
            signal.SIGHUP: self.request_reload,
        }
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        try:
            for child in self.children:
                self._start(child)
            while self.stop_signal is None and not self.gave_up:
                self.tick()
                time.sleep(self.poll_s)
            return self._shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _shutdown(self) -> int:
        if self.on_stopping is not None:
            self.on_stopping()
        live = [(c.name, c.popen) for c in self.children if c.popen and c.popen.poll() is None]
        old = self.roll_old
        # Mid-replacement, the old process still serving (not yet asked to stop).
        if old is not None and old.poll() is None and self.roll_step == "warming":
            live.append((self.roll[0].name, old))
        reason = signal.Signals(self.stop_signal).name if self.stop_signal else "a crash loop"
        log.info(
            "%s: stopping %d processes (up to %.0f s + %.0f s)",
            reason,
            len(live) + len(self.retiring),
            self.grace_s,
            self.margin_s,
        )
        for _name, popen in live:
            popen.send_signal(signal.SIGTERM)
        # The retiring were asked already: asking again could cut their grace short.
        live += [(old.name, old.popen) for old in self.retiring]
        deadline = time.monotonic() + self.grace_s + self.margin_s
        while any(p.poll() is None for _, p in live) and time.monotonic() < deadline:
            time.sleep(min(self.poll_s, 0.1))
        killed = 0
        for name, popen in live:
            if popen.poll() is None:
                log.error(
                    "%s (pid %d) still running after %.0f s: killing it",
                    name,
                    popen.pid,
                    self.grace_s + self.margin_s,
                )
                popen.kill()
                killed += 1
            log.info("%s (pid %d) %s", name, popen.pid, describe_exit(popen.wait()))
        return 1 if killed or self.gave_up else 0
