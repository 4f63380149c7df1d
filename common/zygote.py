"""A fork server: processes forked from a parent that has already imported everything.

A Python process with zmq, construct and skyfield imported holds ~23 MiB privately; one
forked from a parent that already imported them, ~3 MiB. So a process that starts children
first imports what they need, then — before any ZeroMQ context exists, since a context does not
survive a fork — forks a *zygote* that waits for spawn requests and forks each child from its
preloaded image.

The zygote reaps its children and reports every exit with its status. When its parent dies,
the kernel kills the zygote (parent-death signal) and the zygote's children receive SIGTERM
the same way, so no process outlives the one that asked for it.

Protocol (msgpack over a SOCK_SEQPACKET socket pair):
parent → zygote ``{"op": "spawn", "id": n, "target": "pkg.module:function", "args": [...],
"stdio": path|None}``; zygote → parent ``{"op": "spawned", "id": n, "pid": p}`` or
``{"op": "failed", "id": n, "error": text}``, and ``{"op": "exit", "pid": p, "status": s}``
(``status`` as ``os.waitstatus_to_exitcode``: negative for a signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any

import msgpack

PR_SET_PDEATHSIG = 1
#: The signals that stop a process, which the zygote leaves to its parent (blocked).
_STOPPING = {signal.SIGTERM, signal.SIGINT}
_MAX_MESSAGE = 1 << 20


def _find_prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, looked up once, in the parent (Linux; ``None`` elsewhere).

    ``dlopen(NULL)`` finds it in the symbols the interpreter already has. Not
    ``ctypes.util.find_library``: that runs ``ldconfig`` in a subprocess, and doing so in every
    forked child cost ~0.9 MiB of private memory each (and 1.7 MiB in the zygote).
    """
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_PRCTL = _find_prctl()


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


#: The blocks that fill the holes of the C heap (kept for good: see fill_malloc_holes).
_FILLERS: list[int] = []


def fill_malloc_holes() -> int:
    """Allocate (and keep) every free block of the C heap; return how many bytes that took.

    A forked child's ``malloc`` first reuses the free blocks scattered through the parent's
    heap — dictionary tables, large objects, ZeroMQ's buffers — and each block it takes copies
    its page, shared until then, into the child. With the holes filled before the fork, a
    child's allocations come from the top of the heap instead, packed into pages of their own:
    an app process then holds ~0.7 MiB less privately (5.4-6.0 MiB instead of 6.2-6.7,
    ``bench/memory.py``), for 0.5-0.8 MiB of fillers in the parent, shared. It takes ~5 ms.
    glibc only (``mallinfo2``); elsewhere nothing is done.
    """
    try:
        libc = ctypes.CDLL(None)
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return 0
    mallinfo2.restype = _MallInfo2
    malloc, free = libc.malloc, libc.free
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    free.argtypes = [ctypes.c_void_p]
    filled = 0
    # Large blocks first, then every small size class (and with it the per-size caches).
    for size in [1 << bits for bits in range(20, 10, -1)] + list(range(1024, 0, -16)):
        while True:
            before = mallinfo2()
            block = malloc(size)
            after = mallinfo2()
            if not block or after.keepcost < before.keepcost or after.arena != before.arena \
                    or after.hblks != before.hblks:
                free(block)  # from the top of the heap or a mapping of its own: no hole left
                break
            _FILLERS.append(block)
            filled += size
    return filled


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent exits (Linux); end now
    if the parent — ``parent``, the pid that forked us, when the caller knows it — is gone."""
    parent = os.getppid() if parent is None else parent
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _child(target: str, args: list[Any], stdio: str | None, keep: socket.socket,
           zygote: int) -> None:
    """In the forked child: become a clean process and run ``target(*args)``."""
    code = 0
    try:
        keep.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        # A SIGTERM sent before now waited, blocked (_STOPPING), and ends us here.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
        signal.set_wakeup_fd(-1)
        # The zygote's pid, not getppid(): if it has just ended, we are another's child now.
        die_with_parent(signal.SIGTERM, zygote)
        if stdio is not None:
            fd = os.open(stdio, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        result = _resolve(target)(*args)
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve(sock: socket.socket, parent: int) -> None:
    """The zygote's loop: fork on request, reap and report exits, stop when the parent goes."""
    die_with_parent(signal.SIGKILL, parent)
    import selectors

    # The parent decides; it stops us by closing. Blocked rather than ignored: a child inherits
    # the mask, and a SIGTERM sent to it before it has undone it waits instead of being lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    zygote = os.getpid()  # what a child compares its parent with (die_with_parent)

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)
            _send(sock, {"op": "exit", "pid": pid, "status": os.waitstatus_to_exitcode(status)})

    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    try:
        while True:
            for key, _ in selector.select():
                if key.fileobj == wake_r:
                    os.read(wake_r, 4096)
                    reap()
                    continue
                data = sock.recv(_MAX_MESSAGE)
                if not data:
                    return  # the parent closed us or died
                request = msgpack.unpackb(data)
                gc.freeze()  # what the zygote made since is shared too: no collector visits it
                try:
                    pid = os.fork()
                except OSError as exc:
                    _send(sock, {"op": "failed", "id": request["id"], "error": str(exc)})
                    continue
                if pid == 0:
                    selector.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    _child(request["target"], request.get("args", []), request.get("stdio"),
                           sock, zygote)
                children.add(pid)
                _send(sock, {"op": "spawned", "id": request["id"], "pid": pid})
            reap()
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        sock.send(msgpack.packb(message))


class Zygote:
    """The parent's handle on its fork server."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self._sock = sock
        self._next_id = 0
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._exit_handlers: list[Callable[[int, int], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.exits: dict[int, int] = {}

    @classmethod
    def fork(cls) -> Zygote:
        """Fork the zygote now. Call after importing, before creating any ZeroMQ context."""
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Everything imported so far is to be shared by the parent, the zygote and every child.
        # A garbage collection writes to the header of every object it visits, which would copy
        # nearly every page into each process: freeze them out of the collector first. No
        # gc.collect() before: the holes it leaves in shared pages are where a child's first
        # allocations would go, copying those pages (the gc module's documented advice).
        gc.freeze()
        fill_malloc_holes()  # the C heap's, likewise
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            parent_sock.close()
            code = 0
            try:
                _serve(child_sock, parent)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        child_sock.close()
        return cls(pid, parent_sock)

    def on_exit(self, handler: Callable[[int, int], None]) -> None:
        """Call ``handler(pid, status)`` for every child that exits."""
        self._exit_handlers.append(handler)

    def attach(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start receiving the zygote's reports in this event loop."""
        self._loop = loop or asyncio.get_running_loop()
        self._sock.setblocking(False)
        self._loop.add_reader(self._sock.fileno(), self._receive)

    def _receive(self) -> None:
        while True:
            try:
                data = self._sock.recv(_MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                assert self._loop is not None
                self._loop.remove_reader(self._sock.fileno())
                for pending in self._waiting.values():
                    if not pending.done():
                        pending.set_exception(RuntimeError("the zygote is gone"))
                return
            message = msgpack.unpackb(data)
            op = message.get("op")
            if op == "exit":
                self.exits[message["pid"]] = message["status"]
                for handler in list(self._exit_handlers):
                    handler(message["pid"], message["status"])
            elif op in ("spawned", "failed"):
                future: asyncio.Future[int] | None = self._waiting.pop(message["id"], None)
                if future is not None and not future.done():
                    if op == "spawned":
                        future.set_result(message["pid"])
                    else:
                        future.set_exception(OSError(message["error"]))

    async def spawn(self, target: str, args: list[Any], stdio: str | None = None) -> int:
        """Fork a child running ``target(*args)`` (``"module:function"``); return its pid."""
        if self._loop is None:
            self.attach()
        assert self._loop is not None
        self._next_id += 1
        future: asyncio.Future[int] = self._loop.create_future()
        self._waiting[self._next_id] = future
        self._sock.send(msgpack.packb({"op": "spawn", "id": self._next_id, "target": target,
                                       "args": args, "stdio": stdio}))
        return await asyncio.wait_for(future, 10.0)

    def close(self) -> None:
        """Stop the zygote (its remaining children get SIGTERM) and reap it."""
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
