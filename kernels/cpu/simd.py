"""SIMD vectors in Numba code: a handful of intrinsics that emit LLVM vector operations.

Plain Numba code cannot hold a SIMD register in a variable, and LLVM's SLP vectoriser, which could
build one from scalar accumulators, is off in Numba, so a register-tiled micro-kernel (the
outer-product form of matmul.py) needs these: ``vector_zero``, ``vector_full``, ``vector_load``,
``vector_store``, ``vector_fma``, ``vector_multiply_add``, ``vector_add``, their masked
``_first`` forms for edges (``vector_load_first_whole``: a whole load and a blend where the
vector lies inside the array; ``vector_load_part``: a plain load where the count covers the
vector), ``vector_keep_first`` and ``vector_keep_inside`` (lanes zeroed by a blend),
``contiguous_row`` (a row typed contiguous), ``thread_count``, ``vector_lanes`` (the lanes of a
vector as a compile-time constant) and ``prefetch``. Two more files build on these: the
intrinsics that move lanes (``simd_lanes.py``: shuffles, interleaves, transposes) and max
pooling's compares (``simd_maximum.py``).

A ``SimdVector`` is the contents of one vector register of the target Numba compiles for
(``target.py``: 64 bytes on AVX-512, 32 on AVX2, 16 on SSE and NEON); in jitted code it is an
ordinary immutable local, which LLVM keeps in a register. The kernels calling them stay plain
code, and the intrinsics check bounds in the bounds-checked test twins as indexing does.
"""
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic, models, register_model

from .preset import serial_kernel
# One vector register of the target (a compile-time constant of every kernel; see target.py):
# 16 float32 lanes on AVX-512, 8 on AVX2, 4 on SSE and NEON.
from .target import VECTOR_BYTES

# --- SIMD vectors ---------------------------------------------------------------------------------

# LLVM 17 dropped typed pointers (llvmlite still prints them; LLVM reads them as opaque).
OPAQUE_POINTERS = binding.llvm_version_info >= (17,)
LANE_INDEX = ir.IntType(32)


class SimdVector(types.Type):
    """The contents of one SIMD register (``VECTOR_BYTES``), an LLVM vector value.

    Only the intrinsics below make or take one; in jitted code it is an ordinary immutable local,
    which LLVM keeps in a register.
    """

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = VECTOR_BYTES * 8 // dtype.bitwidth
        super().__init__(name=f"SimdVector({dtype} x {self.lanes})")


@register_model(SimdVector)
class SimdVectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _splat(builder, value, lanes):
    """A vector with ``value`` in every lane."""
    vector_type = ir.VectorType(value.type, lanes)
    first = builder.insert_element(ir.Constant(vector_type, None), value, LANE_INDEX(0))
    return builder.shuffle_vector(first, first, ir.Constant(ir.VectorType(LANE_INDEX, lanes),
                                                            [0] * lanes))


def _intrinsic_function(builder, name, return_type, argument_types):
    function_type = ir.FunctionType(return_type, argument_types)
    return cgutils.get_or_insert_function(builder.module, function_type, name)


def _vector_access(context, builder, array_type, array_value, index, lanes, count=None, value=None):
    """Load (``value`` None) or store ``lanes`` consecutive elements of a 1-D array from ``index``.

    With ``count`` (an LLVM integer), only the first ``count`` lanes are read or written (a
    masked load or store); lanes not read are zero. Arrays not typed C-contiguous are checked at
    run time: a unit stride takes the vector path, any other stride goes element by element.
    """
    array = context.make_array(array_type)(context, builder, array_value)
    (length,) = cgutils.unpack_tuple(builder, array.shape, 1)
    (stride,) = cgutils.unpack_tuple(builder, array.strides, 1)
    vector_type = ir.VectorType(array.data.type.pointee, lanes)
    alignment = array_type.dtype.bitwidth // 8
    all_lanes = index.type(lanes)
    if count is None:
        active = all_lanes
    else:
        active = builder.select(builder.icmp_signed("<", count, all_lanes), count, all_lanes)
        lane_numbers = ir.Constant(ir.VectorType(index.type, lanes), list(range(lanes)))
        mask = builder.icmp_signed("<", lane_numbers, _splat(builder, count, lanes))
    if context.enable_boundscheck:
        with builder.if_then(builder.icmp_signed(">", active, index.type(0))):
            last = builder.sub(builder.add(index, active), index.type(1))
            cgutils.do_boundscheck(context, builder, index, length)
            cgutils.do_boundscheck(context, builder, last, length)
    # The masked intrinsics' names carry the pointer type: "p0" where LLVM's pointers are opaque.
    kind = "i" if isinstance(array_type.dtype, types.Integer) else "f"
    vector_name = f"v{lanes}{kind}{array_type.dtype.bitwidth}"
    suffix = f"{vector_name}.p0" + ("" if OPAQUE_POINTERS else vector_name)

    def vector_path():
        pointer = builder.bitcast(builder.gep(array.data, [index]), vector_type.as_pointer())
        if count is None and value is None:
            return builder.load(pointer, align=alignment)
        if count is None:
            builder.store(value, pointer, align=alignment)
        elif value is None:
            masked_load = _intrinsic_function(builder, "llvm.masked.load." + suffix, vector_type,
                                              [pointer.type, LANE_INDEX, mask.type, vector_type])
            return builder.call(masked_load, [pointer, LANE_INDEX(alignment), mask,
                                              ir.Constant(vector_type, None)])
        else:
            masked_store = _intrinsic_function(builder, "llvm.masked.store." + suffix,
                                               ir.VoidType(),
                                               [vector_type, pointer.type, LANE_INDEX, mask.type])
            builder.call(masked_store, [value, pointer, LANE_INDEX(alignment), mask])
        return None

    def strided_path():
        result = cgutils.alloca_once_value(builder, ir.Constant(vector_type, None))
        for lane in range(lanes):
            with builder.if_then(builder.icmp_signed(">", active, index.type(lane))):
                position = builder.add(index, index.type(lane))
                pointer = cgutils.get_item_pointer2(context, builder, array.data, [length],
                                                    [stride], array_type.layout, [position])
                if value is None:
                    element = builder.load(pointer)
                    builder.store(builder.insert_element(builder.load(result), element,
                                                         LANE_INDEX(lane)), result)
                else:
                    builder.store(builder.extract_element(value, LANE_INDEX(lane)), pointer)
        return builder.load(result) if value is None else None

    if array_type.layout == "C":
        return vector_path()
    unit_stride = builder.icmp_signed("==", stride, stride.type(alignment))
    with builder.if_else(unit_stride, likely=True) as (contiguous, strided):
        with contiguous:
            vector_result = vector_path()
            vector_block = builder.block
        with strided:
            strided_result = strided_path()
            strided_block = builder.block
    if value is not None:
        return None
    result = builder.phi(vector_type)
    result.add_incoming(vector_result, vector_block)
    result.add_incoming(strided_result, strided_block)
    return result


def _row_view(context, builder, matrix_type, source, index, line_type, stride):
    """A 1-D view (of ``line_type``) of row ``index`` of the 2-D array ``source``, ``stride`` bytes
    between its elements, bounds-checked in the checked twins. It holds no reference: it must not
    outlive the call that made it."""
    shape = cgutils.unpack_tuple(builder, source.shape, 2)
    strides = cgutils.unpack_tuple(builder, source.strides, 2)
    if context.enable_boundscheck:
        cgutils.do_boundscheck(context, builder, index, shape[0])
    pointer = cgutils.get_item_pointer2(context, builder, source.data, shape, strides,
                                        matrix_type.layout, [index, index.type(0)])
    line = context.make_array(line_type)(context, builder)
    context.populate_array(line, data=pointer, shape=[shape[1]], strides=[stride],
                           itemsize=source.itemsize, meminfo=None)
    return line._getvalue()


def _index(context, builder, index_type, index_value):
    return context.cast(builder, index_value, index_type, types.intp)


def _require(condition, message):
    """Typing-time argument check of an intrinsic: a clear error instead of invalid LLVM IR."""
    if not condition:
        raise errors.TypingError(message)


def _is_line(array, vector=None):
    """A 1-D float array (of the vector's dtype, when given)."""
    return (isinstance(array, types.Array) and array.ndim == 1
            and isinstance(array.dtype, types.Float)
            and (vector is None or vector == SimdVector(array.dtype)))


@intrinsic
def vector_zero(typingctx, like):
    """A vector of zeros with the dtype of array ``like``."""
    _require(isinstance(like, types.Array) and isinstance(like.dtype, types.Float),
             "vector_zero: a float array")
    vector = SimdVector(like.dtype)

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(vector), None)
    return vector(like), codegen


@intrinsic
def vector_load(typingctx, array, index):
    """``array[index:index + lanes]`` of a 1-D array, as a vector."""
    _require(_is_line(array), "vector_load: a 1-D float array")
    vector = SimdVector(array.dtype)

    def codegen(context, builder, signature, args):
        start = _index(context, builder, index, args[1])
        return _vector_access(context, builder, array, args[0], start, vector.lanes)
    return vector(array, index), codegen


@intrinsic
def vector_load_first(typingctx, array, index, count):
    """The first ``count`` elements of ``array[index:]`` (at most a vector's), zeros after them."""
    _require(_is_line(array), "vector_load_first: a 1-D float array")
    vector = SimdVector(array.dtype)

    def codegen(context, builder, signature, args):
        start = _index(context, builder, index, args[1])
        active = _index(context, builder, count, args[2])
        return _vector_access(context, builder, array, args[0], start, vector.lanes, active)
    return vector(array, index, count), codegen


@intrinsic
def vector_load_part(typingctx, array, index, count):
    """``vector_load_first`` by a plain load when ``count`` covers the whole vector, on AVX2 and
    narrower: a branch on ``count``, which LLVM takes out of a loop where ``count`` is fixed in it.
    AMD's AVX2 cores run masked loads slowly: the direct weight gradient's inner loop, all its
    loads masked, took 1.6x the time it took with plain loads (Zen 3). AVX-512's masked loads are
    single instructions: there it is ``vector_load_first``."""
    _require(_is_line(array), "vector_load_part: a 1-D float array")
    vector = SimdVector(array.dtype)

    def codegen(context, builder, signature, args):
        start = _index(context, builder, index, args[1])
        active = _index(context, builder, count, args[2])
        if VECTOR_BYTES >= 64:
            return _vector_access(context, builder, array, args[0], start, vector.lanes, active)
        whole = builder.icmp_signed(">=", active, active.type(vector.lanes))
        with builder.if_else(whole, likely=True) as (whole_vector, part):
            with whole_vector:
                whole_value = _vector_access(context, builder, array, args[0], start, vector.lanes)
                whole_block = builder.block
            with part:
                part_value = _vector_access(context, builder, array, args[0], start, vector.lanes,
                                            active)
                part_block = builder.block
        result = builder.phi(whole_value.type)
        result.add_incoming(whole_value, whole_block)
        result.add_incoming(part_value, part_block)
        return result
    return vector(array, index, count), codegen


@intrinsic
def vector_store(typingctx, array, index, value):
    """``array[index:index + lanes] = value`` for a 1-D array."""
    _require(_is_line(array, value), "vector_store: a 1-D float array and a vector of its dtype")

    def codegen(context, builder, signature, args):
        start = _index(context, builder, index, args[1])
        _vector_access(context, builder, array, args[0], start, value.lanes, value=args[2])
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


@intrinsic
def vector_store_first(typingctx, array, index, value, count):
    """Store the first ``count`` lanes of ``value`` from ``array[index]`` on (none if count < 1)."""
    _require(_is_line(array, value),
             "vector_store_first: a 1-D float array and a vector of its dtype")

    def codegen(context, builder, signature, args):
        start = _index(context, builder, index, args[1])
        active = _index(context, builder, count, args[3])
        _vector_access(context, builder, array, args[0], start, value.lanes, active, args[2])
        return context.get_dummy_value()
    return types.none(array, index, value, count), codegen


@intrinsic
def vector_add(typingctx, left, right):
    """Lane-wise ``left + right``."""
    _require(isinstance(left, SimdVector) and left == right, "vector_add: two vectors of one dtype")

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])
    return left(left, right), codegen


@intrinsic
def vector_fma(typingctx, accumulator, scale, value):
    """``accumulator + scale * value`` in one fused multiply-add, the scalar ``scale`` broadcast."""
    _require(isinstance(accumulator, SimdVector) and accumulator == value
             and isinstance(scale, types.Number),
             "vector_fma: two vectors of one dtype and a scalar")

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(accumulator)
        scale_value = context.cast(builder, args[1], scale, accumulator.dtype)
        name = f"llvm.fma.v{accumulator.lanes}f{accumulator.dtype.bitwidth}"
        fma = _intrinsic_function(builder, name, vector_type, [vector_type] * 3)
        scales = _splat(builder, scale_value, accumulator.lanes)
        return builder.call(fma, [scales, args[2], args[0]])
    return accumulator(accumulator, scale, value), codegen


@intrinsic
def vector_full(typingctx, like, value):
    """A vector with ``value`` in every lane, of the dtype of array ``like``."""
    _require(isinstance(like, types.Array) and isinstance(like.dtype, types.Float)
             and isinstance(value, types.Number), "vector_full: a float array and a number")
    vector = SimdVector(like.dtype)

    def codegen(context, builder, signature, args):
        return _splat(builder, context.cast(builder, args[1], value, like.dtype), vector.lanes)
    return vector(like, value), codegen


@intrinsic
def vector_multiply_add(typingctx, accumulator, left, right):
    """Lane-wise ``accumulator + left * right`` in one fused multiply-add (three vectors)."""
    _require(isinstance(accumulator, SimdVector) and accumulator == left == right,
             "vector_multiply_add: three vectors of one dtype")

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(accumulator)
        name = f"llvm.fma.v{accumulator.lanes}f{accumulator.dtype.bitwidth}"
        fma = _intrinsic_function(builder, name, vector_type, [vector_type] * 3)
        return builder.call(fma, [args[1], args[2], args[0]])
    return accumulator(accumulator, left, right), codegen


@intrinsic
def vector_keep_first(typingctx, vector, count):
    """``vector`` with its lanes from ``count`` on set to zero (a compare and a blend, no memory access)."""
    _require(isinstance(vector, SimdVector), "vector_keep_first: a vector")

    def codegen(context, builder, signature, args):
        active = _index(context, builder, count, args[1])
        lane_numbers = ir.Constant(ir.VectorType(active.type, vector.lanes), list(range(vector.lanes)))
        keep = builder.icmp_signed("<", lane_numbers, _splat(builder, active, vector.lanes))
        return builder.select(keep, args[0], ir.Constant(args[0].type, None))
    return vector(vector, count), codegen


@intrinsic
def vector_keep_inside(typingctx, vector, positions, low, high):
    """``vector`` with the lanes whose ``positions`` lane (a vector of whole numbers in the same dtype)
    lies outside [low, high) set to zero: two compares and a blend, no memory access. A select, not a
    multiply by 0 or 1: a dropped lane may hold an inf, and inf * 0 is NaN."""
    _require(isinstance(vector, SimdVector) and vector == positions
             and isinstance(low, types.Integer) and isinstance(high, types.Integer),
             "vector_keep_inside: two vectors of one dtype and two integers")

    def codegen(context, builder, signature, args):
        bounds = [_splat(builder, context.cast(builder, value, kind, vector.dtype), vector.lanes)
                  for value, kind in ((args[2], low), (args[3], high))]
        keep = builder.and_(builder.fcmp_ordered(">=", args[1], bounds[0]),
                            builder.fcmp_ordered("<", args[1], bounds[1]))
        return builder.select(keep, args[0], ir.Constant(args[0].type, None))
    return vector(vector, positions, low, high), codegen


@intrinsic
def contiguous_row(typingctx, matrix, row):
    """Row ``row`` of a 2-D array whose rows the caller knows to be contiguous (unit column
    stride), typed contiguous: loads from it take the plain vector path, where a row of an array
    typed "any layout" tests its stride at every load. No reference is taken: the view lives no
    longer than the call that made it, and ``matrix`` outlives it."""
    _require(isinstance(matrix, types.Array) and matrix.ndim == 2
             and isinstance(row, types.Integer),
             "contiguous_row: a 2-D array and an integer")
    line_type = types.Array(matrix.dtype, 1, "C")

    def codegen(context, builder, signature, args):
        source = context.make_array(matrix)(context, builder, args[0])
        return _row_view(context, builder, matrix, source, _index(context, builder, row, args[1]),
                         line_type, source.itemsize)
    return line_type(matrix, row), codegen


@intrinsic
def thread_count(typingctx):
    """The number of threads parallel loops use now (``numba.get_num_threads()``).

    Numba's own ``get_num_threads`` in jitted code calls through a ctypes pointer, which stops
    the caller from being cached; this calls the threading layer's symbol by name, declared as
    Numba's parallel-loop lowering declares it.
    """
    def codegen(context, builder, signature, args):
        function = _intrinsic_function(builder, "get_num_threads",
                                       context.get_value_type(types.intp), [])
        return builder.call(function, [])
    return types.intp(), codegen


@intrinsic
def vector_lanes(typingctx, like):
    """The lanes of one vector of array ``like``'s dtype (``VECTOR_BYTES // itemsize``), as a constant
    LLVM folds: ``VECTOR_BYTES // like.itemsize`` is a run-time value in Numba, and a run-time
    stride costs the micro-kernels a register and an indexed address in their inner loops."""
    _require(isinstance(like, types.Array) and isinstance(like.dtype, types.Float),
             "vector_lanes: a float array")
    lanes = VECTOR_BYTES * 8 // like.dtype.bitwidth

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, lanes)
    return types.intp(like), codegen


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the caches for the line holding ``array[index]`` of a 1-D array (into L2 and up, for
    reading), without waiting for it: data wanted a while later, whose copy in from memory would
    otherwise stall the core. A prefetch never faults; the bounds-checked twins check the index
    all the same."""
    _require(isinstance(array, types.Array) and array.ndim == 1, "prefetch: a 1-D array")

    def codegen(context, builder, signature, args):
        source = context.make_array(array)(context, builder, args[0])
        (length,) = cgutils.unpack_tuple(builder, source.shape, 1)
        (stride,) = cgutils.unpack_tuple(builder, source.strides, 1)
        position = _index(context, builder, index, args[1])
        if context.enable_boundscheck:
            cgutils.do_boundscheck(context, builder, position, length)
        pointer = cgutils.get_item_pointer2(context, builder, source.data, [length], [stride],
                                            array.layout, [position])
        byte_pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
        name = "llvm.prefetch.p0" if OPAQUE_POINTERS else "llvm.prefetch.p0i8"
        int32 = ir.IntType(32)
        function = _intrinsic_function(builder, name, ir.VoidType(),
                                       [byte_pointer.type, int32, int32, int32])
        # read (0), moderate locality (2: prefetcht1, into L2), data cache (1)
        builder.call(function, [byte_pointer, int32(0), int32(2), int32(1)])
        return context.get_dummy_value()
    return types.none(array, index), codegen


@serial_kernel
def vector_load_first_whole(flat, start, count):
    """``vector_load_first(flat, start, count)`` by a whole load and a blend where the whole vector lies
    inside ``flat``: AMD's AVX2 cores run masked loads slowly (the copies of the convolutions' padding
    load a vector or a few per row). AVX-512's masked loads are single instructions and faster than
    the load, compare and blend (the padding copy of a 16-channel 28x28 image 1.27 against 1.40 us,
    Zen 4), so there it is the masked load."""
    if VECTOR_BYTES < 64 and start + vector_lanes(flat) <= flat.shape[0]:
        return vector_keep_first(vector_load(flat, start), count)
    return vector_load_first(flat, start, count)
