// A dense layer on a batch: out[r, o] = sum_i x[r, i] * w[o, i] (+ bias[o]), one invocation
// per output value, summing i in order and adding the bias last (as x @ W.T + b does).
struct LinearParams {
    rows: u32,
    inputs: u32,
    outputs: u32,
    has_bias: u32,
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> q: LinearParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x + gid.y * q.row_stride;
    if (k >= q.rows * q.outputs) {
        return;
    }
    let r = k / q.outputs;
    let o = k % q.outputs;
    let xs = r * q.inputs;
    let ws = o * q.inputs;
    var acc = 0.0;
    for (var i = 0u; i < q.inputs; i++) {
        acc += x[xs + i] * w[ws + i];
    }
    if (q.has_bias != 0u) {
        acc += bias[o];
    }
    out[k] = acc;
}
