// One elementwise step of a graph on the device: out[k] = a[k] (op) b[k % period].
// add: b has as many values as a (period = count); mul and greater: b repeats every `period`
// values (a per-feature scale, gain or threshold broadcast over the samples of a batch).
struct ElementParams {
    count: u32,
    period: u32,
    op: u32,
    row_stride: u32,
}

const OP_ADD: u32 = 0u;
const OP_MUL: u32 = 1u;
const OP_GREATER: u32 = 2u;

@group(0) @binding(0) var<uniform> q: ElementParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x + gid.y * q.row_stride;
    if (k >= q.count) {
        return;
    }
    let x = a[k];
    let y = b[k % q.period];
    if (q.op == OP_ADD) {
        out[k] = x + y;
    } else if (q.op == OP_MUL) {
        out[k] = x * y;
    } else {
        out[k] = select(0.0, 1.0, x > y);
    }
}
