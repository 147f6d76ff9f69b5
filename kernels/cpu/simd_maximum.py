"""SIMD intrinsics of max pooling's running maximum and the positions it records.

``vector_select_greater`` (a running maximum's step, NaN-propagating as PyTorch's),
``vector_equal`` (whether a window's maximum changed anything), ``vector_keep_equal`` (a gradient
kept where the recorded position is this one) and ``vector_store_positions`` (int64 positions
computed and stored by vectors). Built on ``simd.py``'s vectors and codegen helpers.
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .simd import SimdVector, _index, _intrinsic_function, _require, _splat, _vector_access


@intrinsic
def vector_select_greater(typingctx, value, best, chosen, otherwise):
    """Lane-wise ``chosen if value > best or value is NaN else otherwise``: a running maximum's step
    that keeps the first of equal values and takes a NaN (PyTorch's max pooling), two compares and a
    blend. Called twice with the same value and best (for the maximum, then for its position), the
    compares are made once."""
    _require(isinstance(value, SimdVector) and value == best == chosen == otherwise,
             "vector_select_greater: four vectors of one dtype")

    def codegen(context, builder, signature, args):
        take = builder.or_(builder.fcmp_ordered(">", args[0], args[1]),
                           builder.fcmp_unordered("uno", args[0], args[0]))
        return builder.select(take, args[2], args[3])
    return value(value, best, chosen, otherwise), codegen


def _is_index_line(array):
    """A 1-D int64 array (the flat positions max pooling records)."""
    return isinstance(array, types.Array) and array.ndim == 1 and array.dtype == types.int64


def _lane_positions(builder, first, step, lanes):
    """The int64 vector first, first + step, first + 2 * step, ... (``lanes`` lanes)."""
    vector_type = ir.VectorType(first.type, lanes)
    ramp = builder.mul(ir.Constant(vector_type, list(range(lanes))), _splat(builder, step, lanes))
    return builder.add(_splat(builder, first, lanes), ramp)


@intrinsic
def vector_keep_equal(typingctx, vector, indices, start, count, first, step):
    """``vector`` with lane k kept where ``indices[start + k] == first + k * step`` (k < count), zero
    elsewhere: an int64 compare (every position exact, however far) and a blend, the first ``count``
    indices read by a masked load."""
    _require(isinstance(vector, SimdVector) and _is_index_line(indices)
             and all(isinstance(value, types.Integer) for value in (start, count, first, step)),
             "vector_keep_equal: a vector, a 1-D int64 array and four integers")

    def codegen(context, builder, signature, args):
        values = [_index(context, builder, kind, value)
                  for kind, value in zip(signature.args[2:], args[2:])]
        loaded = _vector_access(context, builder, indices, args[1], values[0], vector.lanes,
                                values[1])
        positions = _lane_positions(builder, values[2], values[3], vector.lanes)
        lane_numbers = ir.Constant(ir.VectorType(values[1].type, vector.lanes), list(range(vector.lanes)))
        keep = builder.and_(builder.icmp_signed("==", loaded, positions),
                            builder.icmp_signed("<", lane_numbers, _splat(builder, values[1], vector.lanes)))
        return builder.select(keep, args[0], ir.Constant(args[0].type, None))
    return vector(vector, indices, start, count, first, step), codegen


@intrinsic
def vector_store_positions(typingctx, indices, start, count, offsets, first, step):
    """``indices[start + k] = first + k * step + offsets[k]`` for k < count: ``offsets`` a vector of
    small whole numbers (below 2**31) in a float dtype, converted through int32; a masked store."""
    _require(_is_index_line(indices) and isinstance(offsets, SimdVector)
             and all(isinstance(value, types.Integer) for value in (start, count, first, step)),
             "vector_store_positions: a 1-D int64 array, two integers, a vector and two integers")

    def codegen(context, builder, signature, args):
        start_value, count_value, first_value, step_value = [
            _index(context, builder, signature.args[position], args[position]) for position in (1, 2, 4, 5)]
        lanes = offsets.lanes
        narrow = builder.fptosi(args[3], ir.VectorType(ir.IntType(32), lanes))
        wide = builder.sext(narrow, ir.VectorType(first_value.type, lanes))
        positions = builder.add(_lane_positions(builder, first_value, step_value, lanes), wide)
        _vector_access(context, builder, indices, args[0], start_value, lanes, count_value, positions)
        return context.get_dummy_value()
    return types.none(indices, start, count, offsets, first, step), codegen


@intrinsic
def vector_equal(typingctx, left, right):
    """Whether every lane of ``left`` equals ``right``'s (a NaN equals nothing): a compare and a
    reduction to one flag."""
    _require(isinstance(left, SimdVector) and left == right, "vector_equal: two vectors of one dtype")

    def codegen(context, builder, signature, args):
        equal = builder.fcmp_ordered("==", args[0], args[1])
        reduce_and = _intrinsic_function(builder, f"llvm.vector.reduce.and.v{left.lanes}i1",
                                         ir.IntType(1), [equal.type])
        return builder.call(reduce_and, [equal])
    return types.boolean(left, right), codegen
