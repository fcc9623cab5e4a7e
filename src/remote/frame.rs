//! What goes over a remote topo's standard input when more than the lab
//! file must: the file as one frame (its length in decimal on a line, then
//! exactly that many bytes), and after it a line of the conversation
//! (`commit`, `rollback`) or the input of an `exec`'d command.
//!
//! The reading side takes bytes from file descriptor 0 itself, never
//! through a buffer, so nothing after the frame is read ahead and lost.

use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// The largest lab file a frame carries.
const MAX: usize = 64 << 20;

/// The frame of `bytes`.
pub fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("{}\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out
}

pub fn write_frame(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(&frame(bytes))?;
    w.flush()
}

/// Standard input, unbuffered; not closed when dropped.
fn stdin() -> ManuallyDrop<std::fs::File> {
    // SAFETY: fd 0 is open for the life of the process; ManuallyDrop
    // keeps it open when this handle goes.
    ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) })
}

/// One line from standard input without its newline; None at end of input.
pub fn read_line() -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let mut byte = [0u8];
    loop {
        match stdin().read(&mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if line.len() > 4096 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// One frame from standard input, as text.
pub fn read_frame() -> io::Result<String> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let head = read_line()?.ok_or_else(|| bad("no frame on standard input".into()))?;
    let len: usize = head
        .trim()
        .parse()
        .map_err(|_| bad(format!("`{head}` is not a frame length")))?;
    if len > MAX {
        return Err(bad(format!("a frame of {len} bytes is too long")));
    }
    let mut buf = vec![0u8; len];
    stdin().read_exact(&mut buf)?;
    String::from_utf8(buf).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_its_length_then_its_bytes() {
        assert_eq!(frame(b"name: x\n"), b"8\nname: x\n");
        assert_eq!(frame(b""), b"0\n");
    }
}
