"""A small raw FastCGI client for the wire tests: builds records of any
shape, well formed or not, sends them to the worker pool's socket, and
reads back what comes: records, a closed connection, or nothing at all.

Standard library only (socket, struct).

    c = Conn(path)
    c.send(begin(1) + params(1, {"REQUEST_METHOD": "GET", ...}) + stdin(1))
    r = c.read_reply(1, timeout=5)
    r.outcome        # "complete" (END_REQUEST seen), "closed", "timeout"
    r.status, r.headers, r.body, r.end   # the CGI answer, END_REQUEST body
"""
import select
import socket
import struct
import time

VERSION_1 = 1

BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP_CONN = 1

REQUEST_COMPLETE, CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE = 0, 1, 2, 3

HEADER = struct.Struct(">BBHHBB")      # version type id contentLength padding reserved
MAX_CONTENT = 0xFFFF

TYPE_NAMES = {1: "BEGIN_REQUEST", 2: "ABORT_REQUEST", 3: "END_REQUEST", 4: "PARAMS",
              5: "STDIN", 6: "STDOUT", 7: "STDERR", 8: "DATA", 9: "GET_VALUES",
              10: "GET_VALUES_RESULT", 11: "UNKNOWN_TYPE"}


# ---- building ---------------------------------------------------------------


def header(rtype, request_id, content_length, padding=0, version=VERSION_1, reserved=0):
    """Eight header bytes, with whatever values are given (lies included)."""
    return HEADER.pack(version, rtype, request_id, content_length, padding, reserved)


def record(rtype, request_id, content=b"", padding=None, version=VERSION_1,
           content_length=None):
    """One record. padding: None pads to a multiple of 8 as libfcgi
    does; content_length overrides the header's length (a lie)."""
    if padding is None:
        padding = -len(content) % 8
    clen = len(content) if content_length is None else content_length
    return header(rtype, request_id, clen, padding, version) + content + b"\0" * padding


def stream(rtype, request_id, data, chunk=MAX_CONTENT, end=True):
    """A stream (PARAMS, STDIN, ...) cut into records of at most chunk
    bytes, closed by an empty record when end."""
    out = []
    for i in range(0, len(data), chunk):
        out.append(record(rtype, request_id, data[i:i + chunk]))
    if end:
        out.append(record(rtype, request_id))
    return b"".join(out)


def encode_length(n, long=None):
    """1 byte below 128 (unless long), else 4 bytes with the top bit set."""
    if long is None:
        long = n > 127
    if not long:
        if n > 127:
            raise ValueError("a 1-byte length holds at most 127")
        return bytes([n])
    if n > 0x7FFFFFFF:
        raise ValueError("a 4-byte length holds at most 2^31 - 1")
    return struct.pack(">I", n | 0x80000000)


def _b(x):
    return x if isinstance(x, bytes) else x.encode("utf-8", "surrogateescape")


def name_value(name, value, long_name=None, long_value=None):
    name, value = _b(name), _b(value)
    return (encode_length(len(name), long_name) + encode_length(len(value), long_value) +
            name + value)


def name_value_raw(name_len, value_len, payload=b"", long_name=None, long_value=None):
    """A pair whose lengths claim anything; payload is what really follows."""
    return encode_length(name_len, long_name) + encode_length(value_len, long_value) + payload


def encode_params(pairs):
    """pairs: a dict or a list of (name, value); bytes or str."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return b"".join(name_value(k, v) for k, v in items)


def begin(request_id=1, role=RESPONDER, flags=0, version=VERSION_1):
    return record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", role, flags),
                  version=version)


def params(request_id, pairs, chunk=MAX_CONTENT, end=True):
    return stream(PARAMS, request_id, encode_params(pairs), chunk, end)


def stdin(request_id, data=b"", chunk=MAX_CONTENT):
    """STDIN data (if any) and the empty record that ends it."""
    return stream(STDIN, request_id, data, chunk, True)


def abort(request_id):
    return record(ABORT_REQUEST, request_id)


def get_values(names, request_id=0):
    return record(GET_VALUES, request_id, b"".join(name_value(n, "") for n in names))


def request(request_id, pairs, body=b"", keep_conn=False, chunk=MAX_CONTENT):
    """A whole well-formed responder request: BEGIN, PARAMS, STDIN."""
    return (begin(request_id, flags=KEEP_CONN if keep_conn else 0) +
            params(request_id, pairs, chunk) + stdin(request_id, body))


# ---- reading ----------------------------------------------------------------


class Record:
    def __init__(self, version, rtype, request_id, content, padding):
        self.version, self.type, self.request_id = version, rtype, request_id
        self.content, self.padding = content, padding

    def __repr__(self):
        return "Record(%s, id=%d, %r)" % (TYPE_NAMES.get(self.type, self.type),
                                          self.request_id, self.content[:80])


def parse_records(buf):
    """Complete records at the start of buf, and the bytes left over."""
    out, off = [], 0
    while len(buf) - off >= HEADER.size:
        version, rtype, rid, clen, plen, _ = HEADER.unpack_from(buf, off)
        end = off + HEADER.size + clen + plen
        if len(buf) < end:
            break
        out.append(Record(version, rtype, rid,
                          bytes(buf[off + HEADER.size:off + HEADER.size + clen]), plen))
        off = end
    return out, bytes(buf[off:])


def parse_name_values(data):
    """FastCGI name-value pairs (GET_VALUES_RESULT) -> list of (name, value)."""
    out, i = [], 0

    def length():
        nonlocal i
        if data[i] & 0x80:
            n = struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF
            i += 4
        else:
            n = data[i]
            i += 1
        return n
    while i < len(data):
        nl = length()
        vl = length()
        out.append((data[i:i + nl], data[i + nl:i + nl + vl]))
        i += nl + vl
    return out


class Reply:
    """What came back for one request: outcome is "complete" (its
    END_REQUEST arrived), "closed" (the connection ended first) or
    "timeout" (neither, in time). elapsed: seconds waited."""

    def __init__(self):
        self.records, self.outcome, self.elapsed = [], None, 0.0
        self.stdout, self.stderr = b"", b""
        self.end = None            # (appStatus, protocolStatus)
        self.status, self.headers, self.body = None, {}, b""
        self.error = None          # the socket error that closed it, if any

    def add(self, rec):
        self.records.append(rec)
        if rec.type == STDOUT:
            self.stdout += rec.content
        elif rec.type == STDERR:
            self.stderr += rec.content
        elif rec.type == END_REQUEST and len(rec.content) >= 5:
            self.end = (struct.unpack(">I", rec.content[:4])[0], rec.content[4])

    def parse_cgi(self):
        """The CGI answer in STDOUT: a Status line, headers, the body."""
        head, sep, body = self.stdout.partition(b"\r\n\r\n")
        if not sep:
            return
        self.body = body
        for line in head.split(b"\r\n"):
            k, _, v = line.partition(b":")
            self.headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        st = self.headers.get("status")
        if st:
            try:
                self.status = int(st.split()[0])
            except ValueError:
                pass
        elif self.stdout:
            self.status = 200      # CGI: no Status line means 200

    def json(self):
        import json
        return json.loads(self.body)

    def __repr__(self):
        return "Reply(%s after %.2f s, status=%r, end=%r, records=%r)" % (
            self.outcome, self.elapsed, self.status, self.end, self.records[:6])


class Conn:
    """One connection to the worker pool's socket (a unix path, or
    (host, port)). send() never raises on a connection the worker has
    closed: it returns False, and closed is set."""

    def __init__(self, address, connect_timeout=5):
        fam = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(connect_timeout)
        self.sock.connect(address)
        self.sock.setblocking(False)
        self.t_open = time.monotonic()
        self.t_first_byte = None    # when our first byte left
        self.t_closed = None        # when we saw the worker's EOF or reset
        self.closed = False         # the worker closed it (or reset it)
        self.error = None
        self.buf = b""              # bytes read but not yet parsed
        self.pending = []           # records parsed but not yet claimed

    # -- sending --

    def send(self, data):
        """Sends all of data (blocking up to 10 s for room); False when
        the worker has closed the connection."""
        if self.closed:
            return False
        if self.t_first_byte is None and data:
            self.t_first_byte = time.monotonic()
        view = memoryview(data)
        deadline = time.monotonic() + 10
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except (BlockingIOError, InterruptedError):
                # No room: wait for room, and notice a close meanwhile.
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    r, _, _ = select.select([self.sock], [self.sock], [], min(left, 0.5))
                except (OSError, ValueError):
                    self._mark_closed()
                    return False
                if r:
                    self._pump(0)
                    if self.closed:
                        return False
            except (BrokenPipeError, ConnectionResetError) as e:
                self._mark_closed(e)
                return False
        return True

    def trickle(self, data, interval, max_seconds):
        """Sends data one byte every interval seconds (slowloris) until
        all is sent, the worker closes, or max_seconds have passed.
        Returns the number of bytes sent."""
        sent = 0
        t_end = time.monotonic() + max_seconds
        for i in range(len(data)):
            if time.monotonic() > t_end or not self.send(data[i:i + 1]):
                break
            sent += 1
            self._pump(interval)
            if self.closed:
                break
        return sent

    # -- receiving --

    def _mark_closed(self, err=None):
        if not self.closed:
            self.closed = True
            self.t_closed = time.monotonic()
            self.error = err

    def _pump(self, timeout):
        """Reads what is there within timeout; parses whole records."""
        if self.closed:
            return
        try:
            r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        except (OSError, ValueError):
            self._mark_closed()
            return
        if not r:
            return
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            except (ConnectionResetError, BrokenPipeError, OSError) as e:
                self._mark_closed(e)
                break
            if not chunk:
                self._mark_closed()
                break
            self.buf += chunk
        recs, self.buf = parse_records(self.buf)
        self.pending.extend(recs)

    def records(self, timeout):
        """Every record that arrives within timeout (or until closed)."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        out, self.pending = self.pending, []
        return out

    def read_reply(self, request_id=None, timeout=5.0):
        """Records until the END_REQUEST of request_id (any, if None),
        the connection's end, or timeout. Records of other requests stay
        pending for a later call."""
        rep = Reply()
        t0 = time.monotonic()
        deadline = t0 + timeout
        while True:
            keep = []
            for i, rec in enumerate(self.pending):
                if request_id is None or rec.request_id == request_id:
                    rep.add(rec)
                    if rec.type == END_REQUEST:
                        keep.extend(self.pending[i + 1:])
                        self.pending = keep
                        rep.outcome = "complete"
                        rep.elapsed = time.monotonic() - t0
                        rep.parse_cgi()
                        return rep
                else:
                    keep.append(rec)
            self.pending = keep
            if self.closed:
                rep.outcome, rep.error = "closed", self.error
                break
            left = deadline - time.monotonic()
            if left <= 0:
                rep.outcome = "timeout"
                break
            self._pump(left)
        rep.elapsed = time.monotonic() - t0
        rep.parse_cgi()
        return rep

    def wait_closed(self, timeout):
        """Waits up to timeout for the worker to close; returns True if
        it did. Records that arrive meanwhile stay pending."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        return self.closed

    def held_for(self):
        """Seconds from our first byte (or the connect) to the worker's
        close; None while open."""
        if self.t_closed is None:
            return None
        return self.t_closed - (self.t_first_byte or self.t_open)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
