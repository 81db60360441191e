"""Control socket beside each ZeroMQ data connection: hello, ready, heartbeats, done, bye.

Why a side channel: GNU Radio's ZeroMQ blocks carry samples one way only. ``push_sink``
returns once ZeroMQ has queued a message, not once the peer has read it, and a closed PUSH
socket drops (or, with the default linger, keeps) what the peer never took, so the
transmitter cannot learn from its data socket whether anything was consumed. Their REQ/REP
variant tells the sender that items were *asked for*, not that the END of the stream was
decoded, and it has no room for a report either. So each data connection gets a second,
pyzmq socket, at :func:`control_address` of the data address, on which the two processes talk:

- the process that binds the data socket (the *upstream*: tx, or the channel for its
  receivers) binds a ROUTER; the one that connects (channel, rx) connects a DEALER;
- the downstream says ``hello`` as soon as it starts (before compiling its kernels), and
  ``ready`` once its data socket is connected;
- both ends send a ``beat`` every :data:`BEAT_S` seconds from a background thread, so either
  end tells a peer that is alive but slow (compiling, decoding, held up by its own
  downstream) from one that died;
- the downstream says ``done`` (with its figures) once the ``eot`` stream tag has come
  through and the stream is decoded; the channel says ``done`` only once its receivers have;
- either end says ``bye`` (with the reason) when it stops without finishing: interrupted,
  timed out, or told by its own peer.

Who may talk: the socket is bound to the address given (loopback by default), so only processes
on this host reach it, and any of them can. A ``done`` is taken by ``tx`` only from a channel or
receiver that quotes the END frame's random receipt (:func:`sdr_semcom.link.roles.run_tx`), which
only a process that decoded the stream has. A lab that wants more sets the same
:data:`TOKEN_ENV` in every process of the link: each message then carries it, and a message
without it (compared in constant time) is dropped and counted (:attr:`ControlLink.rejected`).
The token travels in clear on the control socket: it keeps out other local programs and
mistakes, not an attacker who can read loopback traffic (root).

Input
-----
:meth:`ControlLink.send` from the role's thread (queued; the socket lives in the link's thread).

Output
------
:meth:`ControlLink.get` / :attr:`ControlLink.last_heard`: the latest body of each kind heard, and
when the peer was last heard (``time.monotonic()``).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import queue
import socket
import threading
import time
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: Seconds between heartbeats (both directions).
BEAT_S = 0.25
#: Control port = data port + this (TCP addresses).
PORT_OFFSET = 1000
#: How long closing a link waits for its last messages (``done``, ``bye``) to leave, ms.
LINGER_MS = 1000
KINDS = ("hello", "ready", "beat", "done", "bye")
#: Environment variable holding the link's optional shared token (the same in every process).
TOKEN_ENV = "SDR_SEMCOM_LINK_TOKEN"


class LinkError(RuntimeError):
    """The link did not deliver, or could not be set up: the message says which peer, on which
    address, and what is missing."""


def free_link_ports(n: int, host: str = "127.0.0.1", tries: int = 50) -> list[int]:
    """``n`` free TCP ports P on ``host`` whose control ports (P + :data:`PORT_OFFSET`) are free too:
    for tests, benchmarks and scripts that start the link's processes on loopback."""

    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return True
            except OSError:
                return False

    for _ in range(tries):
        socks = [socket.socket() for _ in range(2 * n)]
        try:
            for s in socks:
                s.bind((host, 0))
            ports = [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()
        data = [p for p in ports if p + PORT_OFFSET <= 65535][:n]
        if len(data) == n and all(free(p + PORT_OFFSET) for p in data):
            return data
    raise RuntimeError(f"no {n} free port pairs (P, P + {PORT_OFFSET}) on {host}")


def control_address(data_address: str) -> str:
    """The control socket's address for a data address.

    ``tcp://HOST:PORT`` -> ``tcp://HOST:PORT+1000``; ``ipc://PATH`` -> ``ipc://PATH.ctl``.
    """
    parts = urlsplit(data_address)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is None:
            raise ValueError(f"{data_address}: a tcp address needs a numeric port (tcp://HOST:PORT)")
        if port + PORT_OFFSET > 65535:
            raise ValueError(f"{data_address}: port {port} leaves no room for its control port "
                             f"({port} + {PORT_OFFSET}); pick a port <= {65535 - PORT_OFFSET}")
        host = data_address[len("tcp://"): data_address.rindex(":")]
        return f"tcp://{host}:{port + PORT_OFFSET}"
    if parts.scheme == "ipc":
        return data_address + ".ctl"
    raise ValueError(f"{data_address}: only tcp:// and ipc:// addresses have a control socket")


class ControlLink:
    """One end of a control connection, served by a background thread.

    Parameters
    ----------
    address : str
        The control address (:func:`control_address` of the data address).
    bind : bool
        True for the upstream end (ROUTER, bound), False for the downstream end (DEALER, connects).
    who : str
        This end's name in the messages (``tx``, ``channel``, ``rx auth``...).
    token : str or None
        Shared link token: sent with each message, and required of each message heard
        (default: the :data:`TOKEN_ENV` environment variable; unset or empty: no token).

    Raises
    ------
    LinkError
        When the socket cannot bind or connect (the address is taken, or malformed).

    Notes
    -----
    One peer per address: the upstream answers the last peer that spoke to it.
    """

    def __init__(self, address: str, bind: bool, who: str, token: str | None = None) -> None:
        import zmq

        self.address = address
        self.who = who
        self.bind = bind
        token = os.environ.get(TOKEN_ENV) if token is None else token
        self._token = token.encode() if token else None
        self.rejected = 0  # messages dropped for a missing or wrong token
        self._outbox: queue.Queue[bytes] = queue.Queue()
        self._lock = threading.Lock()
        self._heard: dict[str, dict] = {}
        self._last: float | None = None
        self._stop = threading.Event()
        self._ctx = zmq.Context()  # its own: closing the link waits for the last messages to leave
        self._sock = self._ctx.socket(zmq.ROUTER if bind else zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, LINGER_MS)
        try:
            if bind:
                self._sock.bind(address)
            else:
                self._sock.connect(address)
        except zmq.ZMQError as exc:
            self._sock.close(0)
            self._ctx.term()
            raise LinkError(f"{who}: cannot {'bind' if bind else 'connect'} the control socket {address}: {exc}"
                          " (another process on that port? each data port P also uses P + "
                          f"{PORT_OFFSET})") from exc
        self._thread = threading.Thread(target=self._run, name=f"control {address}", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- role side
    def send(self, kind: str, **body) -> None:
        """Queue a message of ``kind`` (one of :data:`KINDS`) with a JSON-able ``body``."""
        if kind not in KINDS:
            raise ValueError(f"unknown control message {kind!r} (one of {KINDS})")
        self._outbox.put(self._encode({"kind": kind, "who": self.who, **body}))

    def get(self, kind: str) -> dict | None:
        """The latest message of ``kind`` heard from the peer (None if none)."""
        with self._lock:
            return self._heard.get(kind)

    @property
    def last_heard(self) -> float | None:
        """``time.monotonic()`` of the peer's last message (None before the first)."""
        with self._lock:
            return self._last

    def close(self) -> None:
        """Send what is queued, stop the thread and close the socket (waits up to LINGER_MS)."""
        if self._ctx.closed:
            return
        self._stop.set()
        self._thread.join()
        self._ctx.term()  # returns once the last messages are out, or after LINGER_MS

    def __enter__(self) -> "ControlLink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- thread side
    def _run(self) -> None:
        import zmq

        peer: bytes | None = None  # ROUTER: identity of the peer to answer
        next_beat = 0.0
        beat = self._encode({"kind": "beat", "who": self.who})
        try:
            while True:
                stopping = self._stop.is_set()
                while self._sock.poll(0 if stopping else int(BEAT_S * 400), zmq.POLLIN):
                    frames = self._sock.recv_multipart()
                    if self._receive(frames[-1]) and self.bind:  # answer only a peer that was heard
                        peer = frames[0]
                out = []
                while not self._outbox.empty():
                    out.append(self._outbox.get_nowait())
                now = time.monotonic()
                if now >= next_beat and not stopping:
                    out.append(beat)
                    next_beat = now + BEAT_S
                for msg in out:
                    try:  # never block: a peer that does not listen (a GRC script) fills the queue
                        if not self.bind:
                            self._sock.send(msg, zmq.NOBLOCK)
                        elif peer is not None:
                            self._sock.send_multipart([peer, msg], zmq.NOBLOCK)
                    except zmq.Again:
                        pass
                if stopping:
                    break
        except zmq.ZMQError as exc:  # the context is being torn down (interpreter exit)
            log.debug("control link %s: %s", self.address, exc)
        finally:
            self._sock.close()

    def _encode(self, msg: dict) -> bytes:
        if self._token is not None:
            msg = {**msg, "token": self._token.decode()}
        return json.dumps(msg).encode()

    def _receive(self, raw: bytes) -> bool:
        """Take one message; False when it was dropped (malformed, or without the token)."""
        try:
            msg = json.loads(raw)
            kind = msg["kind"]
            if not isinstance(kind, str):
                raise TypeError(kind)
        except (ValueError, KeyError, TypeError):
            log.warning("%s: ignoring a malformed control message on %s", self.who, self.address)
            return False
        token = msg.pop("token", None)
        if self._token is not None and not (isinstance(token, str)
                                            and hmac.compare_digest(token.encode(), self._token)):
            self.rejected += 1
            if self.rejected == 1:
                log.warning("%s: ignoring control messages without this link's token (%s) on %s",
                            self.who, TOKEN_ENV, self.address)
            return False
        with self._lock:
            self._last = time.monotonic()
            if kind != "beat":
                self._heard[kind] = msg
        if kind != "beat":
            log.info("%s: %s from %s on %s", self.who, kind, msg.get("who"), self.address)
        return True
