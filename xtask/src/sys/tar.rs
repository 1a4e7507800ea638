//! A reader of tar archives, as far as image archives need: entries in
//! order from any `Read`, with ustar's prefix, GNU long names, pax paths
//! and sizes, and base-256 sizes. An entry's data can be read as a stream,
//! so that a layer's tar inside `docker save`'s tar is read without being
//! written anywhere. Our own, not the `tar` crate: this is all we need of
//! it, and it costs no dependency.

use std::io::{self, Read};

const BLOCK: u64 = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// As stored, without a leading `./` or `/`.
    pub path: String,
    pub size: u64,
    pub kind: Kind,
}

pub struct Reader<R> {
    inner: R,
    /// Data bytes of the current entry not read yet, and the padding after them.
    remaining: u64,
    padding: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Reader<R> {
        Reader { inner, remaining: 0, padding: 0 }
    }

    /// The next entry, after skipping what is left of the current one;
    /// None at the archive's end.
    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        let (mut long_path, mut pax_path, mut pax_size) = (None, None, None);
        loop {
            self.skip_rest()?;
            let mut header = [0u8; BLOCK as usize];
            if !read_block(&mut self.inner, &mut header)? || header.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            let size = parse_size(&header[124..136])?;
            self.remaining = size;
            self.padding = (BLOCK - size % BLOCK) % BLOCK;
            match header[156] {
                b'L' => long_path = Some(text(&self.read_data()?)),
                b'x' => {
                    let records = self.read_data()?;
                    (pax_path, pax_size) = pax(&records, pax_path, pax_size)?;
                }
                b'g' | b'K' => {}
                flag => {
                    let path = pax_path.or(long_path).unwrap_or_else(|| ustar_path(&header));
                    let kind = match flag {
                        b'0' | 0 | b'7' => Kind::File,
                        b'1' => Kind::Hardlink,
                        b'2' => Kind::Symlink,
                        b'5' => Kind::Dir,
                        _ => Kind::Other,
                    };
                    let size = pax_size.unwrap_or(size);
                    self.remaining = size;
                    self.padding = (BLOCK - size % BLOCK) % BLOCK;
                    let path = path.trim_start_matches("./").trim_start_matches('/').to_string();
                    return Ok(Some(Entry { path, size, kind }));
                }
            }
        }
    }

    /// The current entry's data, as a stream.
    pub fn data(&mut self) -> Data<'_, R> {
        Data { reader: self }
    }

    /// The current entry's data, whole: for small files.
    pub fn read_data(&mut self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.data().read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn skip_rest(&mut self) -> io::Result<()> {
        let rest = self.remaining + self.padding;
        let skipped = io::copy(&mut (&mut self.inner).take(rest), &mut io::sink())?;
        if skipped < rest {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a tar entry ends early"));
        }
        (self.remaining, self.padding) = (0, 0);
        Ok(())
    }
}

/// The data of the current entry.
pub struct Data<'a, R> {
    reader: &'a mut Reader<R>,
}

impl<R: Read> Read for Data<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let wanted = buf.len().min(usize::try_from(self.reader.remaining).unwrap_or(usize::MAX));
        if wanted == 0 {
            return Ok(0);
        }
        let read = self.reader.inner.read(&mut buf[..wanted])?;
        self.reader.remaining -= read as u64;
        Ok(read)
    }
}

/// Fills `block`; false at a clean end of input.
fn read_block(input: &mut impl Read, block: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < block.len() {
        match input.read(&mut block[filled..])? {
            0 if filled == 0 => return Ok(false),
            0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a tar header ends early")),
            n => filled += n,
        }
    }
    Ok(true)
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// ustar's `prefix/name`.
fn ustar_path(header: &[u8]) -> String {
    let name = text(&header[0..100]);
    let prefix = if &header[257..262] == b"ustar" { text(&header[345..500]) } else { String::new() };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// Octal, or base-256 when the first byte's high bit is set (GNU, for sizes of 8 GiB and more).
fn parse_size(field: &[u8]) -> io::Result<u64> {
    if field[0] & 0x80 != 0 {
        return Ok(field[1..].iter().fold(u64::from(field[0] & 0x7f), |n, &b| (n << 8) | u64::from(b)));
    }
    let digits = text(field);
    let digits = digits.trim_matches(|c: char| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(digits, 8)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("a tar size `{digits}` is not octal")))
}

/// pax records (`LEN key=value\n`), as far as they name the path and size.
fn pax(records: &[u8], mut path: Option<String>, mut size: Option<u64>) -> io::Result<(Option<String>, Option<u64>)> {
    let mut rest = records;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let length: usize = text(&rest[..space])
            .parse()
            .ok()
            .filter(|&l| l > space && l <= rest.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a pax record has no valid length"))?;
        let record = String::from_utf8_lossy(&rest[space + 1..length]);
        if let Some((key, value)) = record.trim_end_matches('\n').split_once('=') {
            match key {
                "path" => path = Some(value.to_string()),
                "size" => size = value.parse().ok(),
                _ => {}
            }
        }
        rest = &rest[length..];
    }
    Ok((path, size))
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A tar of `entries` (path, type flag, data), ustar headers, as a
    /// fixture: the tests of this reader and of the layer analysis use it.
    pub fn archive(entries: &[(&str, u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, flag, data) in entries {
            let mut header = [0u8; 512];
            header[..path.len()].copy_from_slice(path.as_bytes());
            header[100..107].copy_from_slice(b"0000644");
            header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            header[156] = *flag;
            header[257..263].copy_from_slice(b"ustar\0");
            out.extend_from_slice(&header);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    fn entries(bytes: &[u8]) -> Vec<Entry> {
        let mut reader = Reader::new(bytes);
        std::iter::from_fn(|| reader.next_entry().unwrap()).collect()
    }

    #[test]
    fn entries_are_read_in_order_with_their_data() {
        let bytes = archive(&[("./app/", b'5', b""), ("app/main.py", b'0', b"print(1)\n"), ("bin/sh", b'2', b"")]);
        let mut reader = Reader::new(&bytes[..]);
        assert_eq!(reader.next_entry().unwrap().unwrap(), Entry { path: "app/".into(), size: 0, kind: Kind::Dir });
        let main = reader.next_entry().unwrap().unwrap();
        assert_eq!((main.path.as_str(), main.size), ("app/main.py", 9));
        assert_eq!(reader.read_data().unwrap(), b"print(1)\n");
        assert_eq!(reader.next_entry().unwrap().unwrap().kind, Kind::Symlink);
        assert_eq!(reader.next_entry().unwrap(), None);
    }

    #[test]
    fn long_names_pax_records_and_nested_archives() {
        let long = "d/".repeat(80) + "file.py";
        let pax_record = format!("{} path={long}\n", long.len() + 7 + 3);
        let inner = archive(&[("inner.txt", b'0', b"xyz")]);
        let bytes = archive(&[
            ("././@LongLink", b'L', long.as_bytes()),
            ("short", b'0', b"a"),
            ("PaxHeaders/x", b'x', pax_record.as_bytes()),
            ("truncated", b'0', b"bb"),
            ("layer.tar", b'0', &inner),
        ]);
        let found = entries(&bytes);
        assert_eq!((found[0].path.as_str(), found[1].path.as_str()), (long.as_str(), long.as_str()));
        let mut reader = Reader::new(&bytes[..]);
        for _ in 0..3 {
            reader.next_entry().unwrap();
        }
        let mut nested = Reader::new(reader.data());
        assert_eq!(nested.next_entry().unwrap().unwrap().path, "inner.txt");
        assert_eq!(nested.read_data().unwrap(), b"xyz");
    }

    #[test]
    fn sizes_in_octal_and_base_256() {
        assert_eq!(parse_size(b"00000001750\0").unwrap(), 1000);
        assert_eq!(parse_size(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]).unwrap(), 256);
        assert!(parse_size(b"9\0\0\0\0\0\0\0\0\0\0\0").is_err());
        let cut = &archive(&[("a", b'0', b"abc")])[..600];
        let mut reader = Reader::new(cut);
        reader.next_entry().unwrap();
        assert!(reader.next_entry().is_err(), "a cut archive is an error, not an end");
    }
}
