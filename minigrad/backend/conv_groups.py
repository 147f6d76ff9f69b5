"""Grouped convolution on either device, one group at a time: each group is an ordinary (groups=1)
convolution of its channel slice, written into its slice of the output.

Device-free (it slices and assigns, which NumPy arrays and CudaArrays both do), so the CPU backend and
minigrad/cuda/ share it. The depthwise case (groups = in_channels) never comes here: it has kernels of its
own (kernels/cpu/conv_depthwise.py), since a group of one channel is far too little work for one call.
"""


def is_depthwise(channels, groups):
    """Whether a convolution with this many input channels and groups is depthwise (one channel per group)."""
    return groups > 1 and groups == channels


def _slices(group, channels, outputs):
    return slice(group * channels, (group + 1) * channels), slice(group * outputs, (group + 1) * outputs)


def forward_by_groups(single, x, weight, bias, geometry, output_size, groups, out):
    """out[:, group's outputs] = single(x[:, group's channels], weight[group's outputs], its bias)."""
    channels, outputs = x.shape[1] // groups, weight.shape[0] // groups
    for group in range(groups):
        inputs, outs = _slices(group, channels, outputs)
        out[:, outs] = single(x[:, inputs], weight[outs], None if bias is None else bias[outs], geometry, output_size)
    return out


def backward_input_by_groups(single, grad_out, weight, geometry, groups, grad_x):
    """grad_x[:, group's channels] = single(grad_out[:, group's outputs], weight[group's outputs])."""
    channels, outputs = grad_x.shape[1] // groups, weight.shape[0] // groups
    shape = (grad_x.shape[0], channels) + tuple(grad_x.shape[2:])
    for group in range(groups):
        inputs, outs = _slices(group, channels, outputs)
        grad_x[:, inputs] = single(grad_out[:, outs], weight[outs], geometry, shape)
    return grad_x


def backward_weight_by_groups(single, x, grad_out, geometry, groups, grad_weight):
    """grad_weight[group's outputs] = single(x[:, group's channels], grad_out[:, group's outputs])."""
    channels, outputs = x.shape[1] // groups, grad_weight.shape[0] // groups
    shape = (outputs,) + tuple(grad_weight.shape[1:])
    for group in range(groups):
        inputs, outs = _slices(group, channels, outputs)
        grad_weight[outs] = single(x[:, inputs], grad_out[:, outs], geometry, shape)
    return grad_weight
