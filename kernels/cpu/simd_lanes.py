"""SIMD intrinsics that move lanes: within a vector, between vectors, and between rows and columns.

``vector_even_lanes`` and ``vector_odd_lanes`` (every other element of a row, as a stride-2
convolution or pooling reads it), ``vector_interleave_low`` and ``vector_interleave_high`` (two
vectors' elements alternated, as stride-2 outputs are written back), ``transpose_block`` (a lanes
x lanes block transposed in registers, the matmul's pack of ``x @ W.T``) and ``store_columns``
(a register tile's rows stored as columns, the convolutions' channels-first output). Each is a
few LLVM ``shufflevector`` instructions on the vectors of ``simd.py``, whose codegen helpers it uses.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .simd import (
    LANE_INDEX,
    VECTOR_BYTES,
    SimdVector,
    _index,
    _is_line,
    _require,
    _row_view,
    _vector_access,
)


def _every_other_lane(low, high, first):
    """The signature and codegen of a shuffle picking lanes first, first + 2, ... of low then high."""
    def codegen(context, builder, signature, args):
        mask = ir.Constant(ir.VectorType(LANE_INDEX, low.lanes), [2 * lane + first for lane in range(low.lanes)])
        return builder.shuffle_vector(args[0], args[1], mask)
    return low(low, high), codegen


@intrinsic
def vector_even_lanes(typingctx, low, high):
    """Elements 0, 2, 4, ... of the 2 * lanes elements ``low`` then ``high``: every other element of
    a row, as a stride-2 convolution reads it, in one vector (one shuffle)."""
    _require(isinstance(low, SimdVector) and low == high, "vector_even_lanes: two vectors of one dtype")
    return _every_other_lane(low, high, 0)


@intrinsic
def vector_odd_lanes(typingctx, low, high):
    """Elements 1, 3, 5, ... of the 2 * lanes elements ``low`` then ``high`` (one shuffle)."""
    _require(isinstance(low, SimdVector) and low == high, "vector_odd_lanes: two vectors of one dtype")
    return _every_other_lane(low, high, 1)


def _interleave_mask(lanes, first):
    """The shuffle mask that interleaves lanes first .. first + lanes / 2 - 1 of two vectors,
    element by element: a[first], b[first], a[first + 1], b[first + 1], ..."""
    return ir.Constant(ir.VectorType(LANE_INDEX, lanes),
                       [x for k in range(first, first + lanes // 2) for x in (k, lanes + k)])


@intrinsic
def vector_interleave_low(typingctx, left, right):
    """left[0], right[0], left[1], right[1], ...: the first halves of two vectors, interleaved."""
    _require(isinstance(left, SimdVector) and left == right, "vector_interleave_low: two vectors of one dtype")

    def codegen(context, builder, signature, args):
        return builder.shuffle_vector(args[0], args[1], _interleave_mask(left.lanes, 0))
    return left(left, right), codegen


@intrinsic
def vector_interleave_high(typingctx, left, right):
    """The second halves of two vectors, interleaved (after ``vector_interleave_low``'s lanes)."""
    _require(isinstance(left, SimdVector) and left == right, "vector_interleave_high: two vectors of one dtype")

    def codegen(context, builder, signature, args):
        return builder.shuffle_vector(args[0], args[1], _interleave_mask(left.lanes, left.lanes // 2))
    return left(left, right), codegen


def _transpose(builder, rows):
    """The columns of a square block of vectors (one per row), by log2(lanes) rounds of perfect
    shuffles: each round interleaves row i with row i + lanes / 2, element by element."""
    lanes = len(rows)
    half = lanes // 2
    low, high = _interleave_mask(lanes, 0), _interleave_mask(lanes, half)
    for _ in range(lanes.bit_length() - 1):
        shuffled = []
        for row in range(half):
            shuffled.append(builder.shuffle_vector(rows[row], rows[row + half], low))
            shuffled.append(builder.shuffle_vector(rows[row], rows[row + half], high))
        rows = shuffled
    return rows


@intrinsic
def transpose_block(typingctx, lines, first_line, first_column, target, offset, pitch):
    """``target[offset + s * pitch + j] = lines[first_line + j, first_column + s]`` for s, j below
    one vector's lanes: a lanes x lanes block of a 2-D array (16 x 16 float32 on AVX-512, 8 x 8
    on AVX2), read by rows and written by columns through registers."""
    _require(isinstance(lines, types.Array) and lines.ndim == 2
             and _is_line(target, SimdVector(lines.dtype)),
             "transpose_block: a 2-D float array and a 1-D array of its dtype")
    lanes = VECTOR_BYTES * 8 // lines.dtype.bitwidth
    contiguous_line = types.Array(lines.dtype, 1, "C")
    any_line = types.Array(lines.dtype, 1, "A")

    def codegen(context, builder, signature, args):
        source = context.make_array(lines)(context, builder, args[0])
        strides = cgutils.unpack_tuple(builder, source.strides, 2)
        first = _index(context, builder, first_line, args[1])
        column = _index(context, builder, first_column, args[2])
        start = _index(context, builder, offset, args[4])
        step = _index(context, builder, pitch, args[5])

        def transpose_through(line_type):
            rows = []
            for lane in range(lanes):
                # A 1-D view of line first + lane, read like any other line.
                line = _row_view(context, builder, lines, source,
                                 builder.add(first, first.type(lane)), line_type, strides[1])
                rows.append(_vector_access(context, builder, line_type, line, column, lanes))
            for lane, value in enumerate(_transpose(builder, rows)):
                position = builder.add(start, builder.mul(step, step.type(lane)))
                _vector_access(context, builder, target, args[3], position, lanes, value=value)

        if lines.layout == "C":
            transpose_through(contiguous_line)
        else:
            # Lines of any layout: one test of their stride for the whole block, not one a line
            # (a branch per line kept the block's loads apart: 11% off x @ W.T's speed).
            unit_stride = builder.icmp_signed("==", strides[1],
                                              strides[1].type(lines.dtype.bitwidth // 8))
            with builder.if_else(unit_stride, likely=True) as (contiguous, strided):
                with contiguous:
                    transpose_through(contiguous_line)
                with strided:
                    transpose_through(any_line)
        return context.get_dummy_value()
    return types.none(lines, first_line, first_column, target, offset, pitch), codegen


@intrinsic
def store_columns(typingctx, target, offset, pitch, rows, columns, v0, v1, v2, v3, v4, v5, v6,
                  v7):
    """``target[offset + j * pitch + i] = v_i[j]`` for i < rows (at most 8) and j < columns (at
    most a vector's lanes): eight vectors, the rows of a register tile, stored as its columns,
    each a run of ``rows`` elements ``pitch`` apart from the next (a tile of (positions,
    channels) sums written straight into channels-first planes).

    With at least eight lanes, three rounds of perfect shuffles (as ``transpose_block``) leave
    column j in lanes ``(j % g) * 8`` to ``(j % g) * 8 + 7`` of vector ``j // g``, ``g = lanes //
    8`` (two columns a vector for float32 on AVX-512, one otherwise); with fewer (16-byte vectors,
    float64 on AVX2) each column is assembled lane by lane. Each column is stored by one masked
    8-lane store, masked but where ``rows`` is 8 (a plain store: AMD's AVX2 cores run masked
    stores as microcode; a caller whose runs may overwrite the elements after them passes 8).
    """
    vectors = (v0, v1, v2, v3, v4, v5, v6, v7)
    _require(_is_line(target, v0) and all(vector == v0 for vector in vectors)
             and all(isinstance(n, types.Integer) for n in (offset, pitch, rows, columns)),
             "store_columns: a 1-D float array, four integers and eight vectors of its dtype")
    lanes = v0.lanes
    group = lanes // 8

    def codegen(context, builder, signature, args):
        start = _index(context, builder, offset, args[1])
        step = _index(context, builder, pitch, args[2])
        row_count = _index(context, builder, rows, args[3])
        column_count = _index(context, builder, columns, args[4])
        part_mask_type = ir.VectorType(LANE_INDEX, 8)
        if lanes < 8:
            # Too few lanes for the shuffles: column j gathered from lane j of each row.
            element_type = context.get_value_type(v0.dtype)
            for column in range(lanes):
                value = ir.Constant(ir.VectorType(element_type, 8), None)
                for row, vector in enumerate(args[5:13]):
                    value = builder.insert_element(
                        value, builder.extract_element(vector, LANE_INDEX(column)), LANE_INDEX(row))
                with builder.if_then(builder.icmp_signed(">", column_count,
                                                         column_count.type(column))):
                    position = builder.add(start, builder.mul(step, step.type(column)))
                    _store_run(context, builder, target, args[0], position, row_count, value)
            return context.get_dummy_value()
        # Perfect shuffles of eight rows: three rounds carry row bit r into the lane index.
        half_mask_type = ir.VectorType(LANE_INDEX, lanes)
        low = ir.Constant(half_mask_type, [x for k in range(lanes // 2) for x in (k, lanes + k)])
        high = ir.Constant(half_mask_type,
                           [x for k in range(lanes // 2, lanes) for x in (k, lanes + k)])
        shuffled = list(args[5:13])
        for _ in range(3):
            interleaved = []
            for row in range(4):
                interleaved.append(builder.shuffle_vector(shuffled[row], shuffled[row + 4], low))
                interleaved.append(builder.shuffle_vector(shuffled[row], shuffled[row + 4], high))
            shuffled = interleaved
        for column in range(lanes):
            vector, part = divmod(column, group)
            value = shuffled[vector]
            if group > 1:
                value = builder.shuffle_vector(value, value,
                                               ir.Constant(part_mask_type,
                                                           list(range(part * 8, part * 8 + 8))))
            with builder.if_then(builder.icmp_signed(">", column_count,
                                                     column_count.type(column))):
                position = builder.add(start, builder.mul(step, step.type(column)))
                _store_run(context, builder, target, args[0], position, row_count, value)
        return context.get_dummy_value()
    return types.none(target, offset, pitch, rows, columns, *vectors), codegen


def _store_run(context, builder, target_type, target, position, row_count, value):
    """An 8-lane store of ``value`` at ``position``: whole where ``row_count`` is 8 or more, else its
    first ``row_count`` lanes (masked)."""
    whole = builder.icmp_signed(">=", row_count, row_count.type(8))
    with builder.if_else(whole, likely=True) as (plain, masked):
        with plain:
            _vector_access(context, builder, target_type, target, position, 8, value=value)
        with masked:
            _vector_access(context, builder, target_type, target, position, 8, row_count, value)
