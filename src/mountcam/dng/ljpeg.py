"""Lossless JPEG (ITU-T T.81 process 14, SOF3) encoder for DNG raw tiles.

DNG 1.4 §3 "Compression" allows Compression 7 for raw data when the JPEG variant is lossless
Huffman JPEG, and adds: "the internal width/length/components in the JPEG stream are not
required to match the strip or tile's width/length/components. Only the total sample counts
need to match. It is common for CFA images to be encoded with a different width, length or
component count to allow the JPEG compression predictors to work across like colors." That is
what Adobe's DNG SDK does for a 2-column CFA and what we do: a W×H tile is one JPEG frame of
``W/2`` columns and 2 interleaved components, so sample ``(y, x)`` of component ``k`` is tile
pixel ``(y, 2x + k)`` and predictor 1 (``Ra``, the sample to the left in the same component)
predicts each pixel from the pixel two columns left, which has the same CFA colour. LibRaw
(``lossless_dng_load_raw``), the DNG SDK and imagecodecs (tifffile) all read it back that way.

Each stream is T.81 Annex H with:

- one scan, no restart interval, point transform 0, predictor 1 (Annex H.1.2.1: the first
  sample of the frame is predicted by ``2**(P-1)``, the first sample of every later line by
  the sample above, all others by the sample to the left; differences modulo 2**16);
- precision ``P`` = the frame's bit depth (2..16), every sample ``< 2**P``;
- one Huffman table per component, optimal for that tile: a histogram pass, then the code
  lengths of Annex K.2 (``Code_size``, ``Adjust_BITS`` limiting them to 16 bits, the reserved
  all-ones code), then the coding pass (Annex F.1.2.1 ``SSSS`` categories, extra bits,
  0xFF byte stuffing, padding with 1-bits, F.1.2.3).

Tiles at the right and bottom edges are full size (TIFF 6.0 §15); the samples beyond the image
repeat the last two columns / rows, so the padding keeps the CFA colour of each column and
costs almost nothing to code.

Speed: two passes, both parallel over tiles with numba ``prange``. Pass 1 takes each tile's
histogram, which gives its Huffman tables and a bound on its size, so every tile gets its own
place in one output buffer; pass 2 codes each tile with the tables of that histogram (it used
to take the histogram a second time). A tile is read a row at a time into a line buffer
(padding applied there, so the coding loop has no edge cases), each sample predicted from the
sample ``nc`` back in that buffer (both passes unrolled for the 2-component DNG case); the
coder looks up code and length in one table, gathers bits in an int64 and writes 32 at a
time, testing the word once for a 0xFF byte to stuff. On the 8192×6144 12-bit twin frame of
``bench/dng_write_speed.py`` this took the encoder from 0.77 s to 0.47 s on one core and from
0.52 s to 0.37 s on two (best of 7, same run, a busy machine), the streams bit-identical.
"""

from __future__ import annotations

import numpy as np

from mountcam.jit import njit, prange

#: Huffman symbols of lossless JPEG: difference categories SSSS 0..16 (T.81 Table H.2).
N_SYMBOLS = 17
#: Bytes of the SOI + DHT + SOF3 + SOS + EOI markers around each stream, at most.
_HEADER_MAX = 2 + 4 * (4 + 1 + 16 + N_SYMBOLS) + (10 + 3 * 4) + (8 + 2 * 4) + 2 + 16

# Markers (T.81 Table B.1).
_SOI, _EOI, _SOF3, _DHT, _SOS = 0xD8, 0xD9, 0xC3, 0xC4, 0xDA


@njit(inline="always", cache=True)
def _clamp(i, n):
    # Beyond the image, repeat the last two rows / columns (keeps the 2×2 CFA phase).
    if i < n:
        return i
    if n >= 2:
        return n - 2 + ((i - n) & 1)
    return n - 1


def _category_table() -> np.ndarray:
    # SSSS of T.81 Table H.2 for |diff| = 0..32768: its bit length (32768 -> 16).
    table = np.zeros(32769, np.uint8)
    for n in range(1, 17):
        table[1 << (n - 1) : min(1 << n, 32769)] = n
    return table


_CATEGORY = _category_table()


@njit(inline="always", cache=True)
def _category(diff, table):
    return table[-diff if diff < 0 else diff]


@njit(inline="always", cache=True)
def _diff(value, pred):
    # Differences are taken modulo 2**16 and read as signed (T.81 H.1.2.1).
    return ((value - pred + 32768) & 0xFFFF) - 32768


@njit(cache=True)
def _load_line(src, r, c0, cols, width, line):
    """Row ``r`` of ``src``, columns ``c0 .. c0+cols-1`` (padded past the edge), into ``line``."""
    if c0 + cols <= width:
        for i in range(cols):
            line[i] = src[r, c0 + i]
    else:
        for i in range(cols):
            line[i] = src[r, _clamp(c0 + i, width)]


@njit(cache=True)
def _histogram(src, r0, c0, rows, cols, nc, height, width, precision, table, hist):
    """Count the SSSS categories of every difference of one region, per component.

    The region's samples are taken a row at a time in the frame's order: sample ``i`` of a row
    is component ``i mod nc``, predicted (predictor 1) by sample ``i - nc`` of the same row; the
    first ``nc`` of a row by the row above (2**(P-1) on the first row).
    """
    hist[:, :] = 0
    line = np.empty(cols, np.int32)
    above = np.empty(cols, np.int32)
    first = np.int32(1 << (precision - 1))
    for y in range(rows):
        _load_line(src, _clamp(r0 + y, height), c0, cols, width, line)
        for i in range(nc):
            p = first if y == 0 else above[i]
            hist[i, _category(_diff(line[i], p), table)] += 1
        if nc == 2:
            h0 = hist[0]
            h1 = hist[1]
            for i in range(2, cols, 2):
                h0[_category(_diff(line[i], line[i - 2]), table)] += 1
                h1[_category(_diff(line[i + 1], line[i - 1]), table)] += 1
        else:
            k = 0
            for i in range(nc, cols):
                hist[k, _category(_diff(line[i], line[i - nc]), table)] += 1
                k += 1
                if k == nc:
                    k = 0
        line, above = above, line


@njit(cache=True)
def _code_sizes(freq_in, bits, huffval, code_len):
    """Annex K.2 optimal code lengths (max 16 bits) for symbols 0..16 of ``freq_in``.

    Fills ``bits`` (BITS[1..16] at 0..15), ``huffval`` (symbols in code order; the count is
    ``bits.sum()``) and ``code_len`` (per symbol, 0 for unused). Returns the number of symbols.
    """
    n = N_SYMBOLS + 1  # + the reserved symbol (index 17) that keeps all-ones codes out
    freq = np.zeros(n, np.int64)
    freq[:N_SYMBOLS] = freq_in
    freq[N_SYMBOLS] = 1
    codesize = np.zeros(n, np.int64)
    others = np.full(n, -1, np.int64)
    while True:  # Figure K.1 Code_size
        v1 = -1
        for i in range(n):  # least frequent, the larger index on ties
            if freq[i] > 0 and (v1 < 0 or freq[i] <= freq[v1]):
                v1 = i
        v2 = -1
        for i in range(n):
            if i != v1 and freq[i] > 0 and (v2 < 0 or freq[i] <= freq[v2]):
                v2 = i
        if v2 < 0:
            break
        freq[v1] += freq[v2]
        freq[v2] = 0
        codesize[v1] += 1
        while others[v1] >= 0:
            v1 = others[v1]
            codesize[v1] += 1
        others[v1] = v2
        codesize[v2] += 1
        while others[v2] >= 0:
            v2 = others[v2]
            codesize[v2] += 1
    counts = np.zeros(33, np.int64)  # Figure K.2 Count_BITS
    for i in range(n):
        if codesize[i]:
            counts[codesize[i]] += 1
    i = 32  # Figure K.3 Adjust_BITS
    while i > 16:
        while counts[i] > 0:
            j = i - 2
            while counts[j] == 0:
                j -= 1
            counts[i] -= 2
            counts[i - 1] += 1
            counts[j + 1] += 2
            counts[j] -= 1
        i -= 1
    while counts[i] == 0:  # drop the reserved code (the longest)
        i -= 1
    counts[i] -= 1
    for i in range(16):
        bits[i] = counts[i + 1]
    # Figure K.4 Sort_input: symbols by original code size (ties by symbol), then assign the
    # adjusted lengths in that order, shortest first.
    m = 0
    for size in range(1, 33):
        for s in range(N_SYMBOLS):
            if codesize[s] == size:
                huffval[m] = s
                m += 1
    code_len[:] = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            code_len[huffval[k]] = length
            k += 1
    return m


@njit(cache=True)
def _codes(bits, huffval, code, code_len):
    """Annex C.2 canonical codes for the table (BITS, HUFFVAL): ``code[symbol]``."""
    c = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            s = huffval[k]
            code[s] = c
            code_len[s] = length
            c += 1
            k += 1
        c <<= 1


@njit(inline="always", cache=True)
def _put(out, pos, b):
    out[pos] = b
    return pos + 1


@njit(inline="always", cache=True)
def _put_stuffed(out, pos, b):
    # A 0xFF byte of entropy-coded data is followed by a stuffed zero (F.1.2.3).
    out[pos] = b
    if b == 0xFF:
        out[pos + 1] = 0
        return pos + 2
    return pos + 1


@njit(inline="always", cache=True)
def _code(d, k, table, hc, out, pos, acc, nacc):
    """Append difference ``d`` of component ``k`` to the bit accumulator: the Huffman code of
    its category ``s``, then ``s`` extra bits (F.1.2.1; a negative ``d`` as the low bits of
    ``d - 1``; none for s = 0 and s = 16). ``hc[k, s]`` is ``code << 6 | total bit count``.
    Whole 32-bit words are written out, with 0xFF stuffing."""
    s = _category(d, table)
    e = hc[k, s]
    extra = s & 15
    n = e & 63
    word = ((e >> 6) << extra) | ((d - (d < 0)) & ((1 << extra) - 1))
    acc = (acc << n) | word
    nacc += n
    if nacc >= 32:
        nacc -= 32
        w = acc >> nacc
        acc &= (1 << nacc) - 1
        v = ~w & 0xFFFFFFFF  # a 0xFF byte of w is a zero byte of v (no byte to stuff: one test)
        if not ((v - 0x01010101) & ~v & 0x80808080):
            out[pos] = w >> 24
            out[pos + 1] = (w >> 16) & 0xFF
            out[pos + 2] = (w >> 8) & 0xFF
            out[pos + 3] = w & 0xFF
            return pos + 4, acc, nacc
        pos = _put_stuffed(out, pos, w >> 24)
        pos = _put_stuffed(out, pos, (w >> 16) & 0xFF)
        pos = _put_stuffed(out, pos, (w >> 8) & 0xFF)
        pos = _put_stuffed(out, pos, w & 0xFF)
    return pos, acc, nacc


@njit(cache=True)
def _encode_region(src, r0, c0, rows, cols, nc, height, width, precision, table, out, pos, hist):
    """Encode one region as a complete lossless JPEG at ``out[pos:]``; returns the end."""
    bits = np.zeros((nc, 16), np.int64)
    huffval = np.zeros((nc, N_SYMBOLS), np.int64)
    nvals = np.zeros(nc, np.int64)
    code = np.zeros((nc, N_SYMBOLS), np.int64)
    code_len = np.zeros((nc, N_SYMBOLS), np.int64)
    for k in range(nc):
        nvals[k] = _code_sizes(hist[k], bits[k], huffval[k], code_len[k])
        _codes(bits[k], huffval[k], code[k], code_len[k])
    xs = cols // nc
    # The marker order and layout of Adobe's DNG SDK encoder (dng_lossless_jpeg.cpp), which
    # every DNG reader is tested against: SOI, SOF3, one DHT segment per table, SOS.
    pos = _put(out, pos, 0xFF)
    pos = _put(out, pos, _SOI)
    # SOF3 (B.2.2): precision, lines, samples per line, components 0..nc-1, 1×1 sampling, Tq 0.
    pos = _put(out, pos, 0xFF)
    pos = _put(out, pos, _SOF3)
    seg = 8 + 3 * nc
    pos = _put(out, pos, seg >> 8)
    pos = _put(out, pos, seg & 0xFF)
    pos = _put(out, pos, precision)
    pos = _put(out, pos, rows >> 8)
    pos = _put(out, pos, rows & 0xFF)
    pos = _put(out, pos, xs >> 8)
    pos = _put(out, pos, xs & 0xFF)
    pos = _put(out, pos, nc)
    for k in range(nc):
        pos = _put(out, pos, k)
        pos = _put(out, pos, 0x11)
        pos = _put(out, pos, 0)
    # DHT (B.2.4.2): table class 0, destination k, for component k.
    for k in range(nc):
        seg = 2 + 17 + nvals[k]
        pos = _put(out, pos, 0xFF)
        pos = _put(out, pos, _DHT)
        pos = _put(out, pos, seg >> 8)
        pos = _put(out, pos, seg & 0xFF)
        pos = _put(out, pos, k)
        for i in range(16):
            pos = _put(out, pos, bits[k, i])
        for i in range(nvals[k]):
            pos = _put(out, pos, huffval[k, i])
    # SOS (B.2.3): all components, table k for component k, Ss = predictor 1, Se = 0, Al = 0.
    pos = _put(out, pos, 0xFF)
    pos = _put(out, pos, _SOS)
    seg = 6 + 2 * nc
    pos = _put(out, pos, seg >> 8)
    pos = _put(out, pos, seg & 0xFF)
    pos = _put(out, pos, nc)
    for k in range(nc):
        pos = _put(out, pos, k)
        pos = _put(out, pos, k << 4)  # Td = k; Ta must be 0 in lossless mode
    pos = _put(out, pos, 1)
    pos = _put(out, pos, 0)
    pos = _put(out, pos, 0)
    # Entropy-coded segment: the samples in the order of _histogram, bits gathered in ``acc``
    # (int64, < 64 bits pending) and flushed 32 at a time.
    hc = np.zeros((nc, N_SYMBOLS), np.int64)
    for k in range(nc):
        for s in range(N_SYMBOLS):
            hc[k, s] = (code[k, s] << 6) | (code_len[k, s] + (s & 15))
    acc = 0
    nacc = 0
    line = np.empty(cols, np.int32)
    above = np.empty(cols, np.int32)
    first = np.int32(1 << (precision - 1))
    for y in range(rows):
        _load_line(src, _clamp(r0 + y, height), c0, cols, width, line)
        for i in range(nc):
            p = first if y == 0 else above[i]
            pos, acc, nacc = _code(_diff(line[i], p), i, table, hc, out, pos, acc, nacc)
        if nc == 2:  # the DNG case, unrolled
            for i in range(2, cols, 2):
                pos, acc, nacc = _code(
                    _diff(line[i], line[i - 2]), 0, table, hc, out, pos, acc, nacc
                )
                pos, acc, nacc = _code(
                    _diff(line[i + 1], line[i - 1]), 1, table, hc, out, pos, acc, nacc
                )
        else:
            k = 0
            for i in range(nc, cols):
                pos, acc, nacc = _code(
                    _diff(line[i], line[i - nc]), k, table, hc, out, pos, acc, nacc
                )
                k += 1
                if k == nc:
                    k = 0
        line, above = above, line
    while nacc >= 8:
        nacc -= 8
        pos = _put_stuffed(out, pos, (acc >> nacc) & 0xFF)
    if nacc > 0:  # pad the last byte with 1-bits (F.1.2.3)
        pad = 8 - nacc
        pos = _put_stuffed(out, pos, ((acc << pad) | ((1 << pad) - 1)) & 0xFF)
    pos = _put(out, pos, 0xFF)
    pos = _put(out, pos, _EOI)
    return pos


@njit(cache=True)
def _coded_bytes(hist, nc):
    """Upper bound of the entropy-coded bytes of a region with histogram ``hist``."""
    total = 0
    bits = np.zeros(16, np.int64)
    huffval = np.zeros(N_SYMBOLS, np.int64)
    code_len = np.zeros(N_SYMBOLS, np.int64)
    for k in range(nc):
        _code_sizes(hist[k], bits, huffval, code_len)
        for s in range(N_SYMBOLS):
            total += hist[k, s] * (code_len[s] + (s if s < 16 else 0))
    # Every byte may be followed by a stuffed zero.
    return 2 * ((total + 7) // 8) + 2


@njit(parallel=True, cache=True)
def _tile_histograms(src, tile_h, tile_w, nc, precision, table, hists, caps):
    """Pass 1, parallel over tiles: each tile's histogram and an upper bound of its bytes."""
    height, width = src.shape
    across = (width + tile_w - 1) // tile_w
    for t in prange(caps.size):
        r0 = (t // across) * tile_h
        c0 = (t % across) * tile_w
        _histogram(src, r0, c0, tile_h, tile_w, nc, height, width, precision, table, hists[t])
        caps[t] = _coded_bytes(hists[t], nc) + _HEADER_MAX


@njit(parallel=True, cache=True)
def _encode_tiles(src, tile_h, tile_w, nc, precision, table, hists, starts, ends, out):
    """Pass 2, parallel over tiles: tile ``t`` coded with its histogram's tables at
    ``out[starts[t]:]``, ending at ``ends[t]``."""
    height, width = src.shape
    across = (width + tile_w - 1) // tile_w
    for t in prange(starts.size):
        r0 = (t // across) * tile_h
        c0 = (t % across) * tile_w
        ends[t] = _encode_region(
            src,
            r0,
            c0,
            tile_h,
            tile_w,
            nc,
            height,
            width,
            precision,
            table,
            out,
            starts[t],
            hists[t],
        )


def _check(image: np.ndarray, precision: int, components: int) -> np.ndarray:
    if image.ndim != 2 or image.dtype != np.uint16:
        raise ValueError(f"need a 2-D uint16 image, got {image.dtype} {image.shape}")
    if not 2 <= precision <= 16:
        raise ValueError(f"lossless JPEG precision must be 2..16 bits, got {precision}")
    if components not in (1, 2, 3, 4):
        raise ValueError(f"components must be 1..4, got {components}")
    if image.size and int(image.max()) >> precision:
        raise ValueError(
            f"a sample of {int(image.max())} does not fit {precision}-bit lossless JPEG"
        )
    return np.ascontiguousarray(image)


def _encode(
    image: np.ndarray, tile_h: int, tile_w: int, components: int, precision: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both passes over every tile: (buffer, start and end of each tile's stream in it)."""
    height, width = image.shape
    n = -(-height // tile_h) * -(-width // tile_w)
    hists = np.zeros((n, components, N_SYMBOLS), np.int64)
    caps = np.zeros(n, np.int64)
    _tile_histograms(image, tile_h, tile_w, components, precision, _CATEGORY, hists, caps)
    starts = np.zeros(n, np.int64)
    starts[1:] = np.cumsum(caps)[:-1]
    out = np.empty(int(caps.sum()), np.uint8)
    ends = np.zeros(n, np.int64)
    _encode_tiles(image, tile_h, tile_w, components, precision, _CATEGORY, hists, starts, ends, out)
    return out, starts, ends


def encode_ljpeg(image: np.ndarray, precision: int, components: int = 1) -> bytes:
    """One lossless JPEG stream holding the whole (H, W) uint16 ``image``.

    The frame is ``W / components`` samples wide with ``components`` interleaved components
    (``components=2`` for a 2-column CFA, as in a DNG tile); ``W`` must be a multiple of it.
    """
    image = _check(image, precision, components)
    height, width = image.shape
    if width % components or not (0 < height < 65536 and 0 < width // components < 65536):
        raise ValueError(f"cannot encode a {width}×{height} image with {components} components")
    out, starts, ends = _encode(image, height, width, components, precision)
    return out[: int(ends[0])].tobytes()


def encode_tiles(
    mosaic: np.ndarray, tile_h: int, tile_w: int, precision: int, components: int = 2
) -> list[memoryview]:
    """Each ``tile_h × tile_w`` tile of ``mosaic`` as a lossless JPEG, row-major tile order.

    Edge tiles are full size, padded as described in the module docstring. The tiles are views
    into one buffer (allocated for the worst case; pages past the data are never touched).
    """
    mosaic = _check(mosaic, precision, components)
    if tile_w % components or tile_h < 1 or tile_w < components:
        raise ValueError(f"tile {tile_w}×{tile_h} does not hold {components} components")
    height, width = mosaic.shape
    if height < 2 or width < 2:
        raise ValueError(f"a {width}×{height} image is too small to tile")
    out, starts, ends = _encode(mosaic, tile_h, tile_w, components, precision)
    view = memoryview(out)
    return [view[int(a) : int(b)] for a, b in zip(starts, ends, strict=True)]
