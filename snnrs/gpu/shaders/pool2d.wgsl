// Sum or average pooling of x [N, C, H, W] over KH x KW windows with stride and zero padding;
// the average divides by the window's area, padding included (torch's AvgPool2d default).
struct PoolParams {
    total: u32,
    in_h: u32,
    in_w: u32,
    out_h: u32,
    out_w: u32,
    k_h: u32,
    k_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_h: u32,
    pad_w: u32,
    average: u32,
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> q: PoolParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x + gid.y * q.row_stride;
    if (k >= q.total) {
        return;
    }
    let ox = k % q.out_w;
    let oy = (k / q.out_w) % q.out_h;
    let plane = k / (q.out_w * q.out_h);  // n * C + c
    var acc = 0.0;
    for (var i = 0u; i < q.k_h; i++) {
        let iy = i32(oy * q.stride_h + i) - i32(q.pad_h);
        if (iy < 0 || iy >= i32(q.in_h)) {
            continue;
        }
        for (var j = 0u; j < q.k_w; j++) {
            let ix = i32(ox * q.stride_w + j) - i32(q.pad_w);
            if (ix < 0 || ix >= i32(q.in_w)) {
                continue;
            }
            acc += x[(plane * q.in_h + u32(iy)) * q.in_w + u32(ix)];
        }
    }
    if (q.average != 0u) {
        acc = acc / f32(q.k_h * q.k_w);
    }
    out[k] = acc;
}
