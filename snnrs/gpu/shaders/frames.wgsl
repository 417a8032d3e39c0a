// Event-to-frame integration with atomics. Invocation k handles the k-th event of the
// concatenated windows: window w covers events starts[w] .. starts[w] + (offsets[w+1] - offsets[w]).
struct FrameParams {
    total: u32,
    windows: u32,
    width: u32,
    height: u32,
    channels: u32,
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> q: FrameParams;
// 4 words per event record (16 bytes): x | y << 16, t (bytes 4..12), p (byte 12)
@group(0) @binding(1) var<storage, read> records: array<u32>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
// offsets[w] = events in windows before w; offsets[windows] = total
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read_write> frames: array<atomic<u32>>;
// the smallest index of an event outside the sensor (0xFFFFFFFF: none), as the CPU path names the first
@group(0) @binding(5) var<storage, read_write> outside: atomic<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x + gid.y * q.row_stride;
    if (k >= q.total) {
        return;
    }
    // the window holding k: the last w with offsets[w] <= k
    var lo = 0u;
    var hi = q.windows;
    while (hi - lo > 1u) {
        let mid = (lo + hi) / 2u;
        if (offsets[mid] <= k) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let e = starts[lo] + (k - offsets[lo]);
    let xy = records[4u * e];
    let x = xy & 0xFFFFu;
    let y = xy >> 16u;
    if (x >= q.width || y >= q.height) {
        atomicMin(&outside, e);
        return;
    }
    let p = records[4u * e + 3u] & 0xFFu;
    // ON: p > 0 as a signed byte (-1 is OFF)
    let channel = select(0u, 1u, q.channels == 2u && p != 0u && p < 128u);
    let plane = q.width * q.height;
    atomicAdd(&frames[lo * q.channels * plane + channel * plane + y * q.width + x], 1u);
}
