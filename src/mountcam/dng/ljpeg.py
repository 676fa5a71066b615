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
costs almost nothing to code. Tiles are encoded in parallel with numba ``prange`` (``nogil``
machine code, one tile per task).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

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


@njit(inline="always", cache=True)
def _row_start(src, r0, c0, y, nc, k, height, width, precision):
    # Predictor of a line's first sample: 2**(P-1) on the first line, else the sample above.
    if y == 0:
        return np.int32(1 << (precision - 1))
    return np.int32(src[_clamp(r0 + y - 1, height), _clamp(c0 + k, width)])


@njit(cache=True)
def _histogram(src, r0, c0, rows, cols, nc, height, width, precision, table, hist):
    """Count the SSSS categories of every difference of one region, per component."""
    hist[:, :] = 0
    xs = cols // nc
    pred = np.zeros(nc, np.int32)
    for y in range(rows):
        r = _clamp(r0 + y, height)
        for k in range(nc):
            pred[k] = _row_start(src, r0, c0, y, nc, k, height, width, precision)
        for x in range(xs):
            for k in range(nc):
                v = np.int32(src[r, _clamp(c0 + x * nc + k, width)])
                hist[k, _category(_diff(v, pred[k]), table)] += 1
                pred[k] = v


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
    # Entropy-coded segment.
    acc = np.uint64(0)  # pending bits, right-aligned
    nacc = 0
    pred = np.zeros(nc, np.int32)
    for y in range(rows):
        r = _clamp(r0 + y, height)
        for k in range(nc):
            pred[k] = _row_start(src, r0, c0, y, nc, k, height, width, precision)
        for x in range(xs):
            for k in range(nc):
                v = np.int32(src[r, _clamp(c0 + x * nc + k, width)])
                p = pred[k]
                pred[k] = v
                d = _diff(v, p)
                s = _category(d, table)
                n = code_len[k, s]
                word = np.uint64(code[k, s])
                if 0 < s < 16:
                    extra = d if d > 0 else d - 1 + (1 << s)  # F.1.2.1.1: negatives as d-1
                    word = (word << np.uint64(s)) | np.uint64(extra & ((1 << s) - 1))
                    n += s
                acc = (acc << np.uint64(n)) | word
                nacc += n
                while nacc >= 8:
                    nacc -= 8
                    b = (acc >> np.uint64(nacc)) & np.uint64(0xFF)
                    pos = _put(out, pos, b)
                    if b == 0xFF:
                        pos = _put(out, pos, 0)
                acc &= (np.uint64(1) << np.uint64(nacc)) - np.uint64(1)
    if nacc > 0:  # pad the last byte with 1-bits (F.1.2.3)
        pad = np.uint64(8 - nacc)
        b = ((acc << pad) | ((np.uint64(1) << pad) - np.uint64(1))) & np.uint64(0xFF)
        pos = _put(out, pos, b)
        if b == 0xFF:
            pos = _put(out, pos, 0)
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
def _tile_capacities(src, tile_h, tile_w, nc, precision, table, caps):
    height, width = src.shape
    across = (width + tile_w - 1) // tile_w
    for t in prange(caps.size):
        hist = np.zeros((nc, N_SYMBOLS), np.int64)
        r0 = (t // across) * tile_h
        c0 = (t % across) * tile_w
        _histogram(src, r0, c0, tile_h, tile_w, nc, height, width, precision, table, hist)
        caps[t] = _coded_bytes(hist, nc) + _HEADER_MAX


@njit(parallel=True, cache=True)
def _encode_tiles(src, tile_h, tile_w, nc, precision, table, starts, ends, out):
    height, width = src.shape
    across = (width + tile_w - 1) // tile_w
    for t in prange(starts.size):
        hist = np.zeros((nc, N_SYMBOLS), np.int64)
        r0 = (t // across) * tile_h
        c0 = (t % across) * tile_w
        _histogram(src, r0, c0, tile_h, tile_w, nc, height, width, precision, table, hist)
        ends[t] = _encode_region(
            src, r0, c0, tile_h, tile_w, nc, height, width, precision, table, out, starts[t], hist
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


def encode_ljpeg(image: np.ndarray, precision: int, components: int = 1) -> bytes:
    """One lossless JPEG stream holding the whole (H, W) uint16 ``image``.

    The frame is ``W / components`` samples wide with ``components`` interleaved components
    (``components=2`` for a 2-column CFA, as in a DNG tile); ``W`` must be a multiple of it.
    """
    image = _check(image, precision, components)
    height, width = image.shape
    if width % components or not (0 < height < 65536 and 0 < width // components < 65536):
        raise ValueError(f"cannot encode a {width}×{height} image with {components} components")
    caps = np.zeros(1, np.int64)
    _tile_capacities(image, height, width, components, precision, _CATEGORY, caps)
    out = np.empty(int(caps[0]), np.uint8)
    ends = np.zeros(1, np.int64)
    _encode_tiles(
        image, height, width, components, precision, _CATEGORY, np.zeros(1, np.int64), ends, out
    )
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
    n = -(-height // tile_h) * -(-width // tile_w)
    caps = np.zeros(n, np.int64)
    _tile_capacities(mosaic, tile_h, tile_w, components, precision, _CATEGORY, caps)
    starts = np.zeros(n, np.int64)
    starts[1:] = np.cumsum(caps)[:-1]
    out = np.empty(int(caps.sum()), np.uint8)
    ends = np.zeros(n, np.int64)
    _encode_tiles(mosaic, tile_h, tile_w, components, precision, _CATEGORY, starts, ends, out)
    view = memoryview(out)
    return [view[int(a) : int(b)] for a, b in zip(starts, ends, strict=True)]
