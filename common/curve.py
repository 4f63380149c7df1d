"""Protected transport: ZeroMQ CURVE between processes when endpoints are ``tcp://``.

Every process that binds a socket other processes reach over tcp is a CURVE *server* with a
key pair of its own; every process (and every operator client) that connects is a CURVE
*client* with its own key pair, and is let in only if its public key is listed in the run's
``authorized`` directory — a ZAP authenticator in each server process checks it. Over ``ipc://``
(the local default) the run's socket directory is private to its user instead, and CURVE is not
used.

Key layout (``dawndusk keys --curve``, or made by the launcher)::

    RUN_DIR/keys/curve/<name>.key           public key (shareable)
    RUN_DIR/keys/curve/<name>.key_secret    secret key (owner-only)
    RUN_DIR/keys/curve/authorized/<name>.key   public keys allowed to connect
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

CURVE_DIR = "curve"
AUTHORIZED = "authorized"


def key_dir(run_dir: str | Path) -> Path:
    """Where a run keeps its CURVE keys."""
    return Path(run_dir) / "keys" / CURVE_DIR


def make_keys(run_dir: str | Path, names: list[str], authorize: bool = True) -> Path:
    """Make a key pair for each name (skipping existing ones); list them as authorized."""
    directory = key_dir(run_dir)
    (directory / AUTHORIZED).mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    for name in names:
        if not (directory / f"{name}.key_secret").exists():
            zmq.auth.create_certificates(directory, name)
            os.chmod(directory / f"{name}.key_secret", 0o600)
        if authorize:
            shutil.copy(directory / f"{name}.key", directory / AUTHORIZED / f"{name}.key")
    return directory


def _pair(directory: Path, name: str) -> tuple[bytes, bytes]:
    public, secret = zmq.auth.load_certificate(directory / f"{name}.key_secret")
    if secret is None:
        raise FileNotFoundError(f"no secret key for {name} in {directory}")
    return public, secret


class Curve:
    """CURVE for one process of a run (a no-op when the run is not on tcp)."""

    def __init__(self, run: Any, me: str) -> None:
        self.enabled = run.transport == "tcp" and key_dir(run.run_dir).exists()
        self.directory = key_dir(run.run_dir)
        self.me = me
        self._authenticator: ThreadAuthenticator | None = None

    def serve(self, context: zmq.Context[Any], sock: zmq.Socket[Any]) -> None:
        """Make ``sock`` (about to bind) a CURVE server that admits only authorized keys."""
        if not self.enabled:
            return
        if self._authenticator is None:
            self._authenticator = ThreadAuthenticator(context)
            self._authenticator.start()
            self._authenticator.configure_curve(domain="*",
                                                location=str(self.directory / AUTHORIZED))
        public, secret = _pair(self.directory, self.me)
        sock.curve_secretkey = secret
        sock.curve_publickey = public
        sock.curve_server = True

    def connect_to(self, sock: zmq.Socket[Any], server: str) -> None:
        """Make ``sock`` (about to connect) a CURVE client of process ``server``."""
        if not self.enabled:
            return
        public, secret = _pair(self.directory, self.me)
        server_public, _ = zmq.auth.load_certificate(self.directory / f"{server}.key")
        sock.curve_secretkey = secret
        sock.curve_publickey = public
        sock.curve_serverkey = server_public

    def close(self) -> None:
        """Stop the authenticator."""
        if self._authenticator is not None:
            self._authenticator.stop()
            self._authenticator = None
