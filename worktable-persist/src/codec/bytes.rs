//! Little-endian fields, read one after another from a file's bytes
//! ([`Reader`]) and appended to a file being encoded ([`Put`]).
//!
//! No read can panic, whatever the bytes hold. A fixed-width read
//! ([`Reader::u32`], [`Reader::array`]...) past the end yields zeros: every
//! decoder checks a length before it reads the fields the length covers,
//! and reports a short input in its own terms, so a wrong check yields
//! wrong values, never a panic or a read out of bounds. A read whose length
//! comes from the file ([`Reader::bytes`]) says whether the bytes are there.

/// Reads fields one after another from a file's bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    /// The bytes being read.
    bytes: &'a [u8],
    /// Offset of the next field in `bytes`; at most `bytes.len()`.
    pos: usize,
    /// Offset of `bytes` in the file, so that [`offset`](Self::offset)
    /// names a file offset.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`, the start of a file (or of a record).
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self::at(bytes, 0)
    }

    /// A reader of `bytes`, which start at offset `base` of the file.
    pub(crate) fn at(bytes: &'a [u8], base: usize) -> Self {
        Self {
            bytes,
            pos: 0,
            base,
        }
    }

    /// Offset of the next field in the file.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Offset in the file of the end of the bytes.
    pub(crate) fn end(&self) -> usize {
        self.base + self.bytes.len()
    }

    /// Bytes left from the next field on.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The bytes from the next field on.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// The next `len` bytes, or `None` (reading nothing) if fewer remain.
    pub(crate) fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let slice = self.rest().get(..len)?;
        self.pos += len;
        Some(slice)
    }

    /// The next `N` bytes; zeros if fewer remain (which are then skipped).
    pub(crate) fn array<const N: usize>(&mut self) -> [u8; N] {
        match self.rest().first_chunk::<N>() {
            Some(head) => {
                self.pos += N;
                *head
            }
            None => {
                self.pos = self.bytes.len();
                [0; N]
            }
        }
    }

    /// The next byte (zero past the end).
    pub(crate) fn u8(&mut self) -> u8 {
        let [byte] = self.array();
        byte
    }

    /// The next little-endian `u16` (zero past the end).
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    /// The next little-endian `u32` (zero past the end).
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// The next little-endian `u64` (zero past the end).
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

/// Appends little-endian fields to the bytes of a file being encoded.
pub(crate) trait Put {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);

    /// The bytes written so far (the file's, from its first byte).
    fn written(&self) -> &[u8];

    /// Appends a byte.
    fn put_u8(&mut self, value: u8) {
        self.put(&[value]);
    }

    /// Appends a little-endian `u16`.
    fn put_u16(&mut self, value: u16) {
        self.put(&value.to_le_bytes());
    }

    /// Appends a little-endian `u32`.
    fn put_u32(&mut self, value: u32) {
        self.put(&value.to_le_bytes());
    }

    /// Appends a little-endian `u64`.
    fn put_u64(&mut self, value: u64) {
        self.put(&value.to_le_bytes());
    }

    /// Appends `len` zero bytes.
    fn put_zeros(&mut self, len: usize) {
        for _ in 0..len {
            self.put(&[0]);
        }
    }

    /// Appends the CRC32C of every byte written so far.
    fn put_checksum(&mut self) {
        let crc = crc32c::crc32c(self.written());
        self.put_u32(crc);
    }
}

impl Put for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn written(&self) -> &[u8] {
        self
    }

    fn put_zeros(&mut self, len: usize) {
        self.resize(self.len() + len, 0);
    }
}

/// A fixed-size header, written from its first byte on; the bytes not
/// written stay zero.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeaderBuf<const N: usize> {
    /// The header.
    bytes: [u8; N],
    /// Bytes written so far; at most `N`.
    len: usize,
}

impl<const N: usize> HeaderBuf<N> {
    /// An empty header: `N` zero bytes, none written.
    pub(crate) fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    /// The whole header, written bytes and zeros after them.
    pub(crate) fn into_bytes(self) -> [u8; N] {
        self.bytes
    }
}

impl<const N: usize> Put for HeaderBuf<N> {
    /// Copies `bytes` after the bytes written. The encoders write fewer
    /// than `N` bytes by construction (their layout tests check every
    /// offset); bytes past `N` would be dropped, not written out of bounds.
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len()).min(N);
        debug_assert_eq!(end - self.len, bytes.len(), "header overflows {N} bytes");
        if let Some(target) = self.bytes.get_mut(self.len..end) {
            target.copy_from_slice(bytes.get(..target.len()).unwrap_or_default());
        }
        self.len = end;
    }

    fn written(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn put_zeros(&mut self, len: usize) {
        // The bytes are zero already.
        self.len = self.len.saturating_add(len).min(N);
    }
}
