//! Text headers: lines starting with a marker byte (`%` for Prophesee, `#` for AEDAT).

use super::Format;

/// Length of the run of header lines at the start of `data` that begin with
/// `marker`; None while the last such line has not ended (more bytes needed).
/// A line `% end` (Prophesee) closes the header explicitly. A Prophesee header line is
/// `%` then a space or the line's end (as Prophesee's own reader has it), so a first
/// data byte that happens to be `%` is not taken for a header.
pub fn marked_lines_len(data: &[u8], marker: u8, at_end: bool) -> Option<usize> {
    let mut pos = 0;
    while data.get(pos) == Some(&marker) {
        if marker == b'%' {
            match data.get(pos + 1) {
                Some(b' ' | b'\n' | b'\r') => {}
                Some(_) => break,
                None if at_end => break,
                None => return None,
            }
        }
        let newline = data[pos..].iter().position(|&b| b == b'\n');
        match newline {
            Some(n) => {
                let line = &data[pos..pos + n];
                pos += n + 1;
                if trim(line) == b"% end" {
                    break;
                }
            }
            None if at_end => return Some(data.len()),
            None => return None,
        }
    }
    if pos == data.len() && !at_end {
        // The next byte may start another header line.
        return None;
    }
    Some(pos)
}

fn trim(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\r' || line[end - 1] == b' ') {
        end -= 1;
    }
    &line[..end]
}

/// The `%` header lines at the start of `head`, as text (invalid UTF-8 replaced).
pub fn prophesee_header_text(head: &[u8]) -> String {
    let len = marked_lines_len(head, b'%', true).unwrap_or(0);
    String::from_utf8_lossy(&head[..len]).into_owned()
}

/// `% evt 3.0` / `% evt 2.0`, or a `% format EVT3;...` line.
pub fn prophesee_evt_version(text: &str) -> Option<Format> {
    for line in text.lines() {
        let line = line.trim_start_matches('%').trim();
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("evt ") {
            return match v.trim() {
                "3.0" => Some(Format::Evt3),
                "2.0" => Some(Format::Evt2),
                _ => None,
            };
        }
        if let Some(v) = lower.strip_prefix("format ") {
            let name = v.split(';').next().unwrap_or("").trim();
            return match name {
                "evt3" => Some(Format::Evt3),
                "evt2" => Some(Format::Evt2),
                _ => None,
            };
        }
    }
    None
}

fn number_after(text: &str, key: &str) -> Option<u32> {
    let start = text.find(key)? + key.len();
    let digits: String = text[start..]
        .chars()
        .skip_while(|c| *c == ' ' || *c == '=')
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Sensor (width, height) from a Prophesee header: `geometry WxH`, `width=`/`height=`
/// in a format line, `Width`/`Height` lines (.dat), or the camera generation in
/// `plugin_name` (gen3: 640x480, gen4.1 / IMX636: 1280x720).
pub fn prophesee_sensor(text: &str) -> Option<(u32, u32)> {
    let lower = text.to_ascii_lowercase();
    if let Some(start) = lower.find("% geometry ") {
        let rest = &lower[start + "% geometry ".len()..];
        let mut parts = rest
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty());
        if let (Some(w), Some(h)) = (parts.next(), parts.next()) {
            if let (Ok(w), Ok(h)) = (w.parse(), h.parse()) {
                return Some((w, h));
            }
        }
    }
    if let (Some(w), Some(h)) = (
        number_after(&lower, "width"),
        number_after(&lower, "height"),
    ) {
        return Some((w, h));
    }
    let plugin = lower.lines().find(|l| l.contains("plugin_name"))?;
    if plugin.contains("gen41") || plugin.contains("imx636") {
        Some((1280, 720))
    } else if plugin.contains("gen3") {
        Some((640, 480))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_end_at_the_first_unmarked_byte() {
        assert_eq!(
            marked_lines_len(b"% a\n% b\n\x01\x02", b'%', false),
            Some(8)
        );
        assert_eq!(marked_lines_len(b"% a\n% b", b'%', false), None);
        assert_eq!(
            marked_lines_len(b"% a\n% end\n%\x01", b'%', false),
            Some(10)
        );
        assert_eq!(marked_lines_len(b"\x00", b'%', false), Some(0));
        assert_eq!(marked_lines_len(b"% a\n", b'%', true), Some(4));
        assert_eq!(marked_lines_len(b"% a\n%\x01\x02", b'%', false), Some(4));
        assert_eq!(marked_lines_len(b"% a\n%", b'%', false), None);
    }

    #[test]
    fn sensor_sizes_from_headers() {
        assert_eq!(prophesee_sensor("% geometry 1280x720\n"), Some((1280, 720)));
        assert_eq!(
            prophesee_sensor("% format EVT3;height=720;width=1280\n"),
            Some((1280, 720))
        );
        assert_eq!(
            prophesee_sensor("% plugin_name hal_plugin_gen3_fx3\n"),
            Some((640, 480))
        );
        assert_eq!(prophesee_sensor("% Date x\n"), None);
    }
}
