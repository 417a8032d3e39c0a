//! The few FlatBuffers reads AEDAT 4 needs, bounds-checked: a root table,
//! scalar fields, strings and vectors of fixed-size structs. Every failure is
//! a message, never a panic.

use super::{le_i64, le_u16, le_u32};

pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

fn short(what: &str) -> String {
    format!("FlatBuffer {what} lies outside the buffer")
}

impl<'a> Table<'a> {
    /// The root table of `buf`, whose root offset is at `start` (4 when size-prefixed).
    pub fn root(buf: &'a [u8], start: usize) -> Result<Self, String> {
        let offset = le_u32(buf, start).ok_or_else(|| short("root offset"))? as usize;
        Self::at(
            buf,
            start
                .checked_add(offset)
                .ok_or_else(|| short("root table"))?,
        )
    }

    fn at(buf: &'a [u8], pos: usize) -> Result<Self, String> {
        let soffset = le_u32(buf, pos).ok_or_else(|| short("table"))? as i32 as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 || vtable as usize >= buf.len() {
            return Err(short("vtable"));
        }
        let vtable = vtable as usize;
        let vtable_len = le_u16(buf, vtable).ok_or_else(|| short("vtable"))? as usize;
        if vtable_len < 4 || vtable + vtable_len > buf.len() {
            return Err(short("vtable"));
        }
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Absolute position of field `index`, None when absent (default value).
    fn field(&self, index: usize) -> Option<usize> {
        let slot = 4 + 2 * index;
        if slot + 2 > self.vtable_len {
            return None;
        }
        let offset = le_u16(self.buf, self.vtable + slot)? as usize;
        (offset != 0).then_some(self.pos + offset)
    }

    pub fn i32_field(&self, index: usize, default: i32) -> Result<i32, String> {
        match self.field(index) {
            None => Ok(default),
            Some(p) => le_u32(self.buf, p)
                .map(|v| v as i32)
                .ok_or_else(|| short("field")),
        }
    }

    pub fn i64_field(&self, index: usize, default: i64) -> Result<i64, String> {
        match self.field(index) {
            None => Ok(default),
            Some(p) => le_i64(self.buf, p).ok_or_else(|| short("field")),
        }
    }

    /// The bytes of a string or vector field: (position of the first element, element count).
    fn vector(&self, index: usize) -> Result<Option<(usize, usize)>, String> {
        let Some(p) = self.field(index) else {
            return Ok(None);
        };
        let offset = le_u32(self.buf, p).ok_or_else(|| short("vector offset"))? as usize;
        let start = p.checked_add(offset).ok_or_else(|| short("vector"))?;
        let count = le_u32(self.buf, start).ok_or_else(|| short("vector length"))? as usize;
        Ok(Some((start + 4, count)))
    }

    pub fn string(&self, index: usize) -> Result<Option<&'a [u8]>, String> {
        match self.vector(index)? {
            None => Ok(None),
            Some((start, len)) => self
                .buf
                .get(start..start.checked_add(len).ok_or_else(|| short("string"))?)
                .map(Some)
                .ok_or_else(|| short("string")),
        }
    }

    /// A vector of structs of `size` bytes each, as one slice.
    pub fn structs(&self, index: usize, size: usize) -> Result<&'a [u8], String> {
        match self.vector(index)? {
            None => Ok(&[]),
            Some((start, count)) => {
                let bytes = count.checked_mul(size).ok_or_else(|| short("vector"))?;
                self.buf
                    .get(start..start.checked_add(bytes).ok_or_else(|| short("vector"))?)
                    .ok_or_else(|| short("vector"))
            }
        }
    }
}
