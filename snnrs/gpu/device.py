"""The WebGPU device (wgpu-py: Vulkan, Metal, DX12), device-resident arrays, and compiled
pipelines cached by shader.

Adapter choice: ``SNNRS_WGPU_ADAPTER`` (an index into :func:`adapters` or a substring of an
adapter's device name, e.g. ``llvmpipe``), else the high-performance adapter wgpu offers.
"""

import contextlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from snnrs.gpu.ids import wgsl_constants

SHADER_DIR = Path(__file__).parent / "shaders"
# What the neuron kernels are compiled with, in this order.
NEURON_INCLUDES = ("params", "charge", "surrogate")
WORKGROUP_SIZE = 64
MAX_WORKGROUPS_PER_DIM = 65535
UNIFORM_CACHE_SIZE = 1024  # parameter blocks kept for reuse (a few dozen bytes each)


class NoAdapterError(RuntimeError):
    """No WebGPU adapter (GPU, or a software one such as lavapipe) is available."""


def _load_triton_first():
    """Mesa's software devices (lavapipe, llvmpipe) and triton (shipped with CUDA builds of
    torch) each bring their own LLVM; importing triton after Mesa has loaded its LLVM crashes
    the process (symbol clash). Loading triton first is safe, so do it before wgpu looks for
    adapters whenever triton is installed."""
    import importlib.util
    if importlib.util.find_spec("triton") is not None:
        # A broken triton install must not take the GPU path down with it.
        with contextlib.suppress(Exception):
            import triton  # noqa: F401


def _wgpu():
    _load_triton_first()
    try:
        import wgpu
    except ImportError:
        raise NoAdapterError("the GPU path needs wgpu-py: pip install wgpu") from None
    return wgpu


def adapters() -> list[dict]:
    """The adapters wgpu sees, as info dicts (vendor, device, adapter_type, backend_type)."""
    return [dict(a.info) for a in _wgpu().gpu.enumerate_adapters_sync()]


def _choose_adapter():
    wgpu = _wgpu()
    wanted = os.environ.get("SNNRS_WGPU_ADAPTER")
    if wanted:
        found = wgpu.gpu.enumerate_adapters_sync()
        if wanted.isdigit() and int(wanted) < len(found):
            return found[int(wanted)]
        for a in found:
            if wanted.lower() in str(a.info.get("device", "")).lower():
                return a
        names = [a.info.get("device") for a in found]
        raise NoAdapterError(f"SNNRS_WGPU_ADAPTER={wanted!r} matches none of the adapters {names}")
    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    if adapter is None:
        raise NoAdapterError("no WebGPU adapter found: install a GPU driver with Vulkan/Metal/DX12, or "
                             "Mesa's lavapipe (apt-get install mesa-vulkan-drivers libvulkan1) for a software one")
    return adapter


class GPU:
    """One device and its queue, with pipelines compiled once per shader."""

    def __init__(self):
        self.wgpu = _wgpu()
        try:
            self.adapter = _choose_adapter()
        except NoAdapterError:
            raise
        except Exception as e:  # wgpu raises its own types when no backend loads
            raise NoAdapterError(f"no usable WebGPU adapter: {e}") from e
        # The default limits cap a storage binding at 128 MiB; ask for what the adapter offers.
        wanted = {k: self.adapter.limits[k] for k in ("max-storage-buffer-binding-size", "max-buffer-size")
                  if k in self.adapter.limits}
        self.device = self.adapter.request_device_sync(required_limits=wanted)
        self.queue = self.device.queue
        self.max_binding_bytes = int(self.device.limits.get("max-storage-buffer-binding-size", 128 << 20))
        self._pipelines: dict[str, object] = {}
        self._uniforms: OrderedDict[bytes, object] = OrderedDict()

    @property
    def name(self) -> str:
        info = self.adapter.info
        return f"{info.get('device')} ({info.get('backend_type')}, {info.get('adapter_type')})"

    def pipeline(self, kernel: str, includes: Sequence[str] = NEURON_INCLUDES):
        key = kernel
        if key not in self._pipelines:
            # Every shader sees the generated ids (NEURON_*, SG_*, FLAG_*) first.
            code = "\n".join([wgsl_constants()] + [shader_source(name) for name in (*includes, kernel)])
            module = self.device.create_shader_module(code=code)
            self._pipelines[key] = self.device.create_compute_pipeline(
                layout="auto", compute={"module": module, "entry_point": "main"})
        return self._pipelines[key]

    def check_size(self, nbytes: int, what: str = "buffer"):
        if nbytes > self.max_binding_bytes:
            raise ValueError(f"{what}: {nbytes} bytes exceed this device's storage binding limit "
                             f"({self.max_binding_bytes} bytes on {self.name})")

    def buffer(self, data):
        if isinstance(data, DeviceArray):
            return data.buffer
        usage = self.wgpu.BufferUsage
        data = np.ascontiguousarray(data)
        self.check_size(data.nbytes)
        if data.nbytes == 0:
            data = np.zeros(1, data.dtype if data.dtype.itemsize == 4 else np.float32)
        return self.device.create_buffer_with_data(data=data, usage=usage.STORAGE | usage.COPY_SRC | usage.COPY_DST)

    def empty(self, nbytes: int):
        self.check_size(nbytes)
        usage = self.wgpu.BufferUsage
        return self.device.create_buffer(size=max(4, nbytes), usage=usage.STORAGE | usage.COPY_SRC | usage.COPY_DST)

    def uniform(self, data: np.ndarray):
        """A uniform (read-only) buffer holding ``data``; kernels called again with the same
        parameters share one, so a repeated call uploads nothing new."""
        key = np.ascontiguousarray(data).tobytes()
        found = self._uniforms.pop(key, None)
        if found is None:
            usage = self.wgpu.BufferUsage
            found = self.device.create_buffer_with_data(data=np.ascontiguousarray(data), usage=usage.UNIFORM)
            if len(self._uniforms) >= UNIFORM_CACHE_SIZE:
                self._uniforms.popitem(last=False)
        self._uniforms[key] = found
        return found

    def placeholder(self):
        """A 4-byte buffer bound where a kernel's optional input is absent (it is never read)."""
        if not hasattr(self, "_placeholder"):
            self._placeholder = self.empty(4)
        return self._placeholder

    def copy(self, source, source_offset: int, destination, destination_offset: int, nbytes: int) -> None:
        """Copies ``nbytes`` between device buffers (offsets and size multiples of 4) without the host."""
        encoder = self.device.create_command_encoder()
        encoder.copy_buffer_to_buffer(source, source_offset, destination, destination_offset, nbytes)
        self.queue.submit([encoder.finish()])

    def run(self, kernel: str, buffers: Sequence, invocations: int, includes=NEURON_INCLUDES,
            repeats: int = 1) -> None:
        """Dispatches ``kernel`` over ``invocations`` threads with ``buffers`` bound in order
        (binding 0 first); 2-D dispatch when one dimension would exceed 65,535 workgroups.
        ``repeats`` > 1 records that many dispatches in one submission (for timing)."""
        pipeline = self.pipeline(kernel, includes)
        entries = [{"binding": k, "resource": {"buffer": b, "offset": 0, "size": b.size}}
                   for k, b in enumerate(buffers)]
        group = self.device.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=entries)
        x, y = dispatch_shape(invocations)
        encoder = self.device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(pipeline)
        compute.set_bind_group(0, group)
        for _ in range(repeats):
            compute.dispatch_workgroups(x, y, 1)
        compute.end()
        self.queue.submit([encoder.finish()])

    def wait(self) -> None:
        """Blocks until the submitted work is done (reading a buffer waits for the queue; the
        work-done callback of some wgpu-py / wgpu-native pairings is broken)."""
        if not hasattr(self, "_fence"):
            self._fence = self.empty(4)
        self.queue.read_buffer(self._fence)

    def read(self, buf, dtype=np.float32, count: int | None = None) -> np.ndarray:
        out = np.frombuffer(self.queue.read_buffer(buf), dtype=dtype)
        return out[:count].copy() if count is not None else out.copy()


class DeviceArray:
    """A float32/uint32 array kept in GPU memory: pass it to the kernels instead of a NumPy
    array to skip the upload; ``numpy()`` downloads it."""

    def __init__(self, buffer, shape, dtype=np.float32):
        self.buffer, self.shape, self.dtype = buffer, tuple(shape), np.dtype(dtype)

    @classmethod
    def upload(cls, array: np.ndarray) -> "DeviceArray":
        array = np.ascontiguousarray(array)
        return cls(gpu().buffer(array), array.shape, array.dtype)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def numpy(self) -> np.ndarray:
        return gpu().read(self.buffer, self.dtype, self.size).reshape(self.shape)

    def reshape(self, *shape) -> "DeviceArray":
        """The same buffer seen with another shape (C order, as NumPy's reshape; one -1 allowed)."""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)
        if shape.count(-1) == 1:
            known = int(np.prod([s for s in shape if s != -1]))
            shape = tuple(self.size // known if s == -1 and known else s for s in shape)
        if any(s < 0 for s in shape) or int(np.prod(shape)) != self.size:
            raise ValueError(f"cannot reshape a device array of shape {self.shape} into {shape}")
        return DeviceArray(self.buffer, shape, self.dtype)

    def __repr__(self):
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype})"


def dispatch_shape(invocations: int) -> tuple[int, int]:
    """(x, y) workgroups covering ``invocations`` threads; the row stride is ``x · 64``."""
    groups = max(1, -(-invocations // WORKGROUP_SIZE))
    x = min(groups, MAX_WORKGROUPS_PER_DIM)
    return x, -(-groups // x)


def shader_source(name: str) -> str:
    return (SHADER_DIR / f"{name}.wgsl").read_text()


@lru_cache(maxsize=1)
def gpu() -> GPU:
    """The process's device, created on first use."""
    return GPU()


def available() -> bool:
    try:
        gpu()
        return True
    except NoAdapterError:
        return False
