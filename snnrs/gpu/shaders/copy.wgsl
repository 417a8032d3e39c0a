// A plain vec4 copy: the device's attainable read+write bandwidth, the yardstick that
// benchmarks/gpu.py sets the neuron kernels against.
struct CopyParams {
    count: u32,  // vec4 elements
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> q: CopyParams;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x + gid.y * q.row_stride;
    if (k < q.count) {
        dst[k] = src[k];
    }
}
