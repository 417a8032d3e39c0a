// Cross-correlation as torch's conv2d (Conv1d runs as a 1-row Conv2d): x [N, C, H, W],
// w [O, C/groups, KH, KW], zero padding (pad_top / pad_left before; the output size, computed
// on the host, sets what is padded after), stride, dilation, groups. One invocation per output
// value [N, O, OH, OW]; the bias is added after the sum.
struct ConvParams {
    total: u32,
    in_channels: u32,
    in_h: u32,
    in_w: u32,
    out_channels: u32,
    out_h: u32,
    out_w: u32,
    k_h: u32,
    k_w: u32,
    stride_h: u32,
    stride_w: u32,
    pad_top: u32,
    pad_left: u32,
    dilation_h: u32,
    dilation_w: u32,
    groups: u32,
    has_bias: u32,
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> q: ConvParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x + gid.y * q.row_stride;
    if (k >= q.total) {
        return;
    }
    let ox = k % q.out_w;
    let oy = (k / q.out_w) % q.out_h;
    let o = (k / (q.out_w * q.out_h)) % q.out_channels;
    let n = k / (q.out_w * q.out_h * q.out_channels);
    let per_group_in = q.in_channels / q.groups;
    let per_group_out = q.out_channels / q.groups;
    let first_in = (o / per_group_out) * per_group_in;
    var acc = 0.0;
    for (var c = 0u; c < per_group_in; c++) {
        let plane = (n * q.in_channels + first_in + c) * q.in_h;
        let taps = (o * per_group_in + c) * q.k_h;
        for (var i = 0u; i < q.k_h; i++) {
            let iy = i32(oy * q.stride_h + i * q.dilation_h) - i32(q.pad_top);
            if (iy < 0 || iy >= i32(q.in_h)) {
                continue;
            }
            let row = (plane + u32(iy)) * q.in_w;
            let tap_row = (taps + i) * q.k_w;
            for (var j = 0u; j < q.k_w; j++) {
                let ix = i32(ox * q.stride_w + j * q.dilation_w) - i32(q.pad_left);
                if (ix < 0 || ix >= i32(q.in_w)) {
                    continue;
                }
                acc += x[row + u32(ix)] * w[tap_row + j];
            }
        }
    }
    if (q.has_bias != 0u) {
        acc += bias[o];
    }
    out[k] = acc;
}
