"""The GPU path: WGSL compute shaders dispatched through wgpu-py (Vulkan, Metal, DX12)."""

from snnrs.gpu.device import GPU, DeviceArray, NoAdapterError, adapters, available, gpu
from snnrs.gpu.frames import integrate_windows
from snnrs.gpu.neuron import SURROGATE_IDS, neuron_backward, neuron_forward

__all__ = ["GPU", "DeviceArray", "NoAdapterError", "adapters", "available", "gpu", "neuron_forward", "neuron_backward",
           "SURROGATE_IDS", "integrate_windows"]
