//! The server's side of RFC 6455 framing. Server frames are unmasked, so a frame is encoded once, header
//! and payload together, and the same bytes can be written to any number of sockets. Client frames are
//! always masked; a frame whose header announces more than the limit is refused before its payload is
//! buffered.

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// RFC 6455 5.5: a control frame's payload is at most 125 bytes.
const CONTROL_PAYLOAD_BYTES_MAX: usize = 125;
/// A close frame's reason is what is left of the control payload after the 2-byte code.
const CLOSE_REASON_BYTES_MAX: usize = CONTROL_PAYLOAD_BYTES_MAX - 2;
const FIN: u8 = 0x80;
const RESERVED_BITS: u8 = 0x70;
const MASKED: u8 = 0x80;

/// Encodes a whole final server frame: header, then the payload, in one allocation.
pub fn encode(opcode: u8, payload: &[u8]) -> Bytes {
    let length = payload.len();
    let mut frame = BytesMut::with_capacity(10 + length);
    frame.put_u8(FIN | opcode);
    if length <= 125 {
        frame.put_u8(length as u8);
    } else if let Ok(length) = u16::try_from(length) {
        frame.put_u8(126);
        frame.put_u16(length);
    } else {
        frame.put_u8(127);
        frame.put_u64(length as u64);
    }
    frame.put_slice(payload);
    frame.freeze()
}

/// A close frame with `code` and as much of `reason` as fits (cut at a character boundary).
pub fn encode_close(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(CLOSE_REASON_BYTES_MAX);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = Vec::with_capacity(2 + end);
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    encode(opcode::CLOSE, &payload)
}

/// One frame a client sent, unmasked.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Bytes,
}

/// Why a client's bytes are not a frame this server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload is longer than the configured limit.
    TooLarge,
    /// Not a frame RFC 6455 allows from a client (unmasked, reserved bits, unknown opcode, long or
    /// fragmented control frame).
    Protocol(&'static str),
}

/// Takes one complete frame off the front of `buffer`, or `None` until more bytes arrive.
pub fn decode(buffer: &mut BytesMut, payload_bytes_max: usize) -> Result<Option<ClientFrame>, DecodeError> {
    let Some(header) = parse_header(buffer, payload_bytes_max)? else {
        return Ok(None);
    };
    let total = header.header_bytes + header.payload_bytes;
    if buffer.len() < total {
        return Ok(None);
    }
    buffer.advance(header.header_bytes);
    let mut payload = buffer.split_to(header.payload_bytes);
    for (index, byte) in payload.iter_mut().enumerate() {
        *byte ^= header.mask[index % 4];
    }
    Ok(Some(ClientFrame {
        fin: header.fin,
        opcode: header.opcode,
        payload: payload.freeze(),
    }))
}

struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    header_bytes: usize,
    payload_bytes: usize,
}

fn parse_header(buffer: &[u8], payload_bytes_max: usize) -> Result<Option<Header>, DecodeError> {
    let [first, second, ..] = *buffer else {
        return Ok(None);
    };
    let (fin, opcode) = (first & FIN != 0, first & 0x0F);
    if first & RESERVED_BITS != 0 {
        return Err(DecodeError::Protocol("reserved bits set"));
    }
    use opcode::{BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(DecodeError::Protocol("unknown opcode"));
    }
    if second & MASKED == 0 {
        return Err(DecodeError::Protocol("client frames must be masked"));
    }
    let (length_bytes, short_length) = match second & 0x7F {
        126 => (2, None),
        127 => (8, None),
        length => (0, Some(u64::from(length))),
    };
    let header_bytes = 2 + length_bytes + 4;
    if buffer.len() < header_bytes {
        return Ok(None);
    }
    let length = short_length.unwrap_or_else(|| {
        let mut extended = &buffer[2..2 + length_bytes];
        extended.get_uint(length_bytes)
    });
    let is_control = opcode >= opcode::CLOSE;
    if is_control && (!fin || length > CONTROL_PAYLOAD_BYTES_MAX as u64) {
        return Err(DecodeError::Protocol("control frames are short and unfragmented"));
    }
    let payload_bytes = usize::try_from(length).map_err(|_| DecodeError::TooLarge)?;
    if payload_bytes > payload_bytes_max {
        return Err(DecodeError::TooLarge);
    }
    let mut mask = [0; 4];
    mask.copy_from_slice(&buffer[2 + length_bytes..header_bytes]);
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        header_bytes,
        payload_bytes,
    }))
}

/// The close code in a client's close payload, if it has one.
pub fn close_code(payload: &[u8]) -> Option<u16> {
    let [high, low, ..] = *payload else { return None };
    Some(u16::from_be_bytes([high, low]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame as a browser would send it: masked with `mask`.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> BytesMut {
        let unmasked = encode(opcode, payload);
        let header_bytes = unmasked.len() - payload.len();
        let mut frame = BytesMut::new();
        frame.put_u8(if fin { unmasked[0] } else { unmasked[0] & !FIN });
        frame.put_u8(unmasked[1] | MASKED);
        frame.put_slice(&unmasked[2..header_bytes]);
        frame.put_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(index, byte)| byte ^ mask[index % 4]));
        frame
    }

    #[test]
    fn server_frames_use_the_shortest_length_encoding() {
        for (length, header) in [(0, 2), (125, 2), (126, 4), (65_535, 4), (65_536, 10)] {
            let frame = encode(opcode::TEXT, &vec![b'a'; length]);
            assert_eq!(frame.len(), header + length, "length {length}");
            assert_eq!(frame[0], 0x81);
        }
        assert_eq!(encode(opcode::TEXT, &[b'a'; 125])[1], 125);
        assert_eq!(&encode(opcode::TEXT, &[b'a'; 126])[1..4], &[126, 0, 126]);
        assert_eq!(&encode(opcode::TEXT, &vec![b'a'; 65_535])[1..4], &[126, 0xFF, 0xFF]);
        assert_eq!(
            &encode(opcode::TEXT, &vec![b'a'; 65_536])[1..10],
            &[127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn masked_client_frames_of_every_length_class_decode() {
        for length in [0, 1, 125, 126, 65_535, 65_536] {
            let payload: Vec<u8> = (0..length).map(|index| (index % 251) as u8).collect();
            let mut buffer = client_frame(true, opcode::TEXT, &payload, [0x12, 0x34, 0x56, 0x78]);
            let frame = decode(&mut buffer, 1 << 20).unwrap().unwrap();
            assert_eq!((frame.fin, frame.opcode), (true, opcode::TEXT));
            assert_eq!(&frame.payload[..], &payload[..], "length {length}");
            assert!(buffer.is_empty());
        }
    }

    #[test]
    fn a_partial_frame_waits_for_more_bytes_and_two_frames_decode_in_turn() {
        let mut whole = client_frame(true, opcode::TEXT, b"hello", [1, 2, 3, 4]);
        whole.extend_from_slice(&client_frame(true, opcode::PING, b"p", [9, 9, 9, 9]));
        for cut in 0..7 {
            let mut partial = BytesMut::from(&whole[..cut]);
            assert_eq!(decode(&mut partial, 64), Ok(None), "cut at {cut}");
        }
        assert_eq!(&decode(&mut whole, 64).unwrap().unwrap().payload[..], b"hello");
        let ping = decode(&mut whole, 64).unwrap().unwrap();
        assert_eq!((ping.opcode, &ping.payload[..]), (opcode::PING, &b"p"[..]));
        assert_eq!(decode(&mut whole, 64), Ok(None));
    }

    #[test]
    fn an_oversize_frame_is_refused_from_its_header_alone() {
        let frame = client_frame(true, opcode::TEXT, &[b'a'; 4097], [0; 4]);
        let mut header_only = BytesMut::from(&frame[..8]);
        assert_eq!(decode(&mut header_only, 4096), Err(DecodeError::TooLarge));
        let mut at_limit = client_frame(true, opcode::TEXT, &[b'a'; 4096], [0; 4]);
        assert!(decode(&mut at_limit, 4096).unwrap().is_some());
    }

    #[test]
    fn unmasked_reserved_and_long_control_frames_are_protocol_errors() {
        let mut unmasked = BytesMut::from(&encode(opcode::TEXT, b"hi")[..]);
        assert!(matches!(decode(&mut unmasked, 64), Err(DecodeError::Protocol(_))));
        let mut reserved = client_frame(true, opcode::TEXT, b"hi", [0; 4]);
        reserved[0] |= 0x40;
        assert!(matches!(decode(&mut reserved, 64), Err(DecodeError::Protocol(_))));
        let mut long_ping = client_frame(true, opcode::PING, &[0; 126], [0; 4]);
        assert!(matches!(decode(&mut long_ping, 4096), Err(DecodeError::Protocol(_))));
        let mut fragmented_close = client_frame(false, opcode::CLOSE, b"", [0; 4]);
        assert!(matches!(
            decode(&mut fragmented_close, 64),
            Err(DecodeError::Protocol(_))
        ));
        let mut unknown = client_frame(true, 0x3, b"", [0; 4]);
        assert!(matches!(decode(&mut unknown, 64), Err(DecodeError::Protocol(_))));
    }

    #[test]
    fn close_frames_carry_the_code_and_a_reason_cut_to_fit() {
        let frame = encode_close(4008, "too slow");
        assert_eq!(
            &frame[..],
            &[0x88, 10, 0x0F, 0xA8, b't', b'o', b'o', b' ', b's', b'l', b'o', b'w']
        );
        let long = "é".repeat(100);
        let frame = encode_close(1008, &long);
        assert_eq!(frame.len(), 2 + 2 + 122, "the reason is cut before a split character");
        let mut client_close = client_frame(true, opcode::CLOSE, &1000u16.to_be_bytes(), [5, 6, 7, 8]);
        let decoded = decode(&mut client_close, 64).unwrap().unwrap();
        assert_eq!(close_code(&decoded.payload), Some(1000));
        assert_eq!(close_code(b""), None);
    }
}
