"""Compiled scanner for MMEngine train lines (optional: needs numba, ``pip install 'epam-tui[fast]'``).

Imported only by ``parsers.py`` when a chunk is a backlog (at least ``FAST_MIN_BYTES``), never at start-up:
``import numba`` costs ~0.2 s and ~100 MB of resident memory (llvmlite's shared library), so a live run's
small appends stay on the regex path.

``scan`` does in one pass over the bytes what ``parsers._template(keys).findall`` plus ``float()`` do:
every ``Epoch(train)`` must match the template built from the chunk's first train line (the same header
``Epoch(train) *[e][ *i/N] +``, the same key literals in the same order separated by spaces, ``eta`` as
``(D day(s), )H:MM:SS``, the same `` *\\r?`` before the end of the line), and every value must be a plain
decimal (``[+-]digits[.digits][e[+-]digits]``). Otherwise it returns -1 and the caller uses the regex path
for the chunk, so the two paths give the same records (``tests/tui/test_fastscan.py`` checks that with
hypothesis).

Exactness: a value with at most 15 significant digits and a decimal exponent
``e`` with ``|e| <= 22`` is ``mantissa * 10**e`` or ``mantissa / 10**-e`` with both operands exact doubles, and
one IEEE multiplication or division is correctly rounded: the same double ``float()`` gives. Longer
mantissas or larger exponents return -1 (regex path), as do ``nan``/``inf`` and underscores.
"""

from __future__ import annotations

import numba
import numpy as np

POW10 = np.array([10.0**k for k in range(23)])  # 10**0 .. 10**22, each an exact double
SP, LF, CR, COLON, LBRACK, RBRACK, SLASH = 32, 10, 13, 58, 91, 93, 47
EPOCH = np.frombuffer(b"Epoch(", dtype=np.uint8)
TRAIN = np.frombuffer(b"train)", dtype=np.uint8)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _digits(buf, j, n, most):
    """(end, value) of a run of 1..most ASCII digits at j; end -1 when there is none or it is longer."""
    v = 0
    k = j
    while k < n and 48 <= buf[k] <= 57 and k - j <= most:
        v = v * 10 + (buf[k] - 48)
        k += 1
    if k == j or k - j > most:
        return -1, 0
    return k, v


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _eta(buf, j, n):
    """End of ``(?:\\d+ days?, )?\\d+:\\d\\d:\\d\\d`` at j, or -1."""
    k = j
    while k < n and 48 <= buf[k] <= 57:
        k += 1
    if k == j:
        return -1
    if k < n and buf[k] == SP:  # "D day, " or "D days, "
        if k + 4 > n or buf[k + 1] != 100 or buf[k + 2] != 97 or buf[k + 3] != 121:
            return -1
        k += 4
        if k < n and buf[k] == 115:
            k += 1
        if k + 2 > n or buf[k] != 44 or buf[k + 1] != SP:
            return -1
        j = k = k + 2
        while k < n and 48 <= buf[k] <= 57:
            k += 1
        if k == j:
            return -1
    for _ in range(2):  # ":MM" then ":SS"
        if k + 3 > n or buf[k] != COLON or not (48 <= buf[k + 1] <= 57 and 48 <= buf[k + 2] <= 57):
            return -1
        k += 3
    return k


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _number(buf, j, n, pow10):
    """(end, value) of a plain decimal at j that float() would give exactly the same; end -1 otherwise."""
    neg = False
    if j < n and (buf[j] == 45 or buf[j] == 43):
        neg = buf[j] == 45
        j += 1
    mant = 0
    nd = 0  # digits seen
    sig = 0  # significant digits (leading zeros do not count)
    frac = 0
    dot = False
    while j < n:
        c = buf[j]
        if 48 <= c <= 57:
            if mant > 0 or c != 48:
                if sig < 16:
                    mant = mant * 10 + (c - 48)
                sig += 1
            nd += 1
            if dot:
                frac += 1
        elif c == 46 and not dot:
            dot = True
        else:
            break
        j += 1
    if nd == 0 or sig > 15:
        return -1, 0.0
    exp = 0
    if j < n and (buf[j] == 101 or buf[j] == 69):
        j += 1
        eneg = False
        if j < n and (buf[j] == 45 or buf[j] == 43):
            eneg = buf[j] == 45
            j += 1
        ed = 0
        while j < n and 48 <= buf[j] <= 57:
            if ed < 4:
                exp = exp * 10 + (buf[j] - 48)
            ed += 1
            j += 1
        if ed == 0 or ed > 4:
            return -1, 0.0
        if eneg:
            exp = -exp
    if j < n and buf[j] != SP and buf[j] != LF and buf[j] != CR:
        return -1, 0.0  # more non-space bytes: not a plain number (nan, inf, 1_000, 0.5x, a tab ...)
    e = exp - frac
    if 0 <= e <= 22:
        v = mant * pow10[e]
    elif -22 <= e < 0:
        v = mant / pow10[-e]
    else:
        return -1, 0.0
    return j, -v if neg else v


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _scan(buf, keys, starts, is_eta, out, pow10, epoch, train):
    """Fill ``out``'s columns from every train line of ``buf``; (rows, other ``Epoch(`` hits), (-1, 0) when a
    line does not fit the template, (-2, 0) when ``out`` has too few rows.

    A kernel: one pass over the bytes; kept as one function so numba compiles one loop."""
    n = buf.shape[0]
    nk = starts.shape[0] - 1
    rows = 0
    others = 0
    i = 0
    while i + 6 <= n:
        # next "Epoch("
        if buf[i] != 69:
            i += 1
            continue
        hit = True
        for q in range(1, 6):
            if buf[i + q] != epoch[q]:
                hit = False
                break
        if not hit:
            i += 1
            continue
        j = i + 6
        is_train = j + 6 <= n
        if is_train:
            for q in range(6):
                if buf[j + q] != train[q]:
                    is_train = False
                    break
        if not is_train:
            others += 1  # a val line, or "Epoch(" in a message: the caller reads those lines
            i = j
            continue
        if rows >= out.shape[1]:
            return -2, 0  # more train lines than rows: the caller retries with room for every line
        j += 6
        # header: " *[e][ *i/N] +"
        while j < n and buf[j] == SP:
            j += 1
        if j >= n or buf[j] != LBRACK:
            return -1, 0
        j, v = _digits(buf, j + 1, n, 15)
        if j < 0 or j + 2 > n or buf[j] != RBRACK or buf[j + 1] != LBRACK:
            return -1, 0
        out[0, rows] = v
        j += 2
        while j < n and buf[j] == SP:
            j += 1
        j, v = _digits(buf, j, n, 15)
        if j < 0 or j >= n or buf[j] != SLASH:
            return -1, 0
        out[1, rows] = v
        j, v = _digits(buf, j + 1, n, 15)
        if j < 0 or j >= n or buf[j] != RBRACK:
            return -1, 0
        out[2, rows] = v
        j += 1
        col = 3
        for k in range(nk):
            if j >= n or buf[j] != SP:  # " +" before each key
                return -1, 0
            while j < n and buf[j] == SP:
                j += 1
            a, b = starts[k], starts[k + 1]
            if j + (b - a) + 2 > n:
                return -1, 0
            for q in range(b - a):
                if buf[j + q] != keys[a + q]:
                    return -1, 0
            j += b - a
            if buf[j] != COLON or buf[j + 1] != SP:
                return -1, 0
            j += 2
            if is_eta[k]:
                j = _eta(buf, j, n)
                if j < 0:
                    return -1, 0
            else:
                j, x = _number(buf, j, n, pow10)
                if j < 0:
                    return -1, 0
                out[col, rows] = x
                col += 1
        # " *\r?$"
        while j < n and buf[j] == SP:
            j += 1
        if j < n and buf[j] == CR:
            j += 1
        if j < n and buf[j] != LF:
            return -1, 0
        rows += 1
        i = j
    return rows, others


def scan(chunk: bytes, keys: tuple[bytes, ...]) -> tuple[np.ndarray, int] | None:
    """Columns (epoch, iter, N, then each non-eta key's value), one row per train line, and the number of
    other ``Epoch(`` occurrences; None when some train line does not fit the template exactly."""
    buf = np.frombuffer(chunk, dtype=np.uint8)
    flat = np.frombuffer(b"".join(keys), dtype=np.uint8)
    starts = np.cumsum([0] + [len(k) for k in keys]).astype(np.int64)
    is_eta = np.array([k == b"eta" for k in keys], dtype=np.bool_)
    width = 3 + int((~is_eta).sum())
    # room for a train line per 64 bytes (real ones are 150-300 bytes); else once more, a row per line
    # (counting the newlines of a 231 MB chunk costs ~0.15 s, a fifth of the whole parse: only when needed)
    out = np.empty((width, len(chunk) // 64 + 64))
    found, others = _scan(buf, flat, starts, is_eta, out, POW10, EPOCH, TRAIN)
    if found == -2:
        out = np.empty((width, chunk.count(b"\n") + 1))
        found, others = _scan(buf, flat, starts, is_eta, out, POW10, EPOCH, TRAIN)
    if found < 0:
        return None
    return out[:, :found], others
