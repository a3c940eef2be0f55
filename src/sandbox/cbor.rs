//! The CBOR codec of Smithy RPC v2 CBOR: decoding request bodies into JSON values and encoding
//! JSON values as CBOR responses with indefinite-length maps and arrays, and timestamps as tag 1.
//!
//! Written by hand because the protocol needs one detail no general serde CBOR crate exposes
//! (tag 1 on chosen members); the subset here is what the AWS SDKs send and read.

use serde_json::{Map, Number, Value};

/// Why a CBOR body could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed CBOR body at byte {offset}: {reason}")]
pub(crate) struct CborError {
    offset: usize,
    reason: &'static str,
}

/// Decodes one CBOR data item into a JSON value (tags are dropped, their content kept; byte
/// strings become arrays of numbers; floats and integers become JSON numbers).
pub(crate) fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut decoder = Decoder { bytes, offset: 0 };
    decoder.item()
}

struct Decoder<'a> {
    bytes: &'a [u8],
    offset: usize,
}

const BREAK: u8 = 0xff;

impl Decoder<'_> {
    fn error(&self, reason: &'static str) -> CborError {
        CborError {
            offset: self.offset,
            reason,
        }
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let byte = *self
            .bytes
            .get(self.offset)
            .ok_or_else(|| self.error("unexpected end"))?;
        self.offset += 1;
        Ok(byte)
    }

    fn take(&mut self, count: usize) -> Result<&[u8], CborError> {
        let end = self
            .offset
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error("unexpected end"))?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    /// Reads the argument of an initial byte; `None` means indefinite length.
    fn argument(&mut self, info: u8) -> Result<Option<u64>, CborError> {
        let value = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.array::<2>()?)),
            26 => u64::from(u32::from_be_bytes(self.array::<4>()?)),
            27 => u64::from_be_bytes(self.array::<8>()?),
            31 => return Ok(None),
            _ => return Err(self.error("reserved additional information")),
        };
        Ok(Some(value))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn peek_break(&mut self) -> bool {
        if self.bytes.get(self.offset) == Some(&BREAK) {
            self.offset += 1;
            true
        } else {
            false
        }
    }

    fn length(&self, value: u64) -> Result<usize, CborError> {
        usize::try_from(value)
            .ok()
            .filter(|length| *length <= self.bytes.len())
            .ok_or_else(|| self.error("length larger than the body"))
    }

    fn text(&mut self, info: u8) -> Result<String, CborError> {
        let mut out = Vec::new();
        match self.argument(info)? {
            Some(length) => {
                let length = self.length(length)?;
                out.extend_from_slice(self.take(length)?);
            }
            None => {
                while !self.peek_break() {
                    let initial = self.byte()?;
                    if initial >> 5 != 3 && initial >> 5 != 2 {
                        return Err(self.error("bad chunk in indefinite string"));
                    }
                    let length = self
                        .argument(initial & 0x1f)?
                        .ok_or_else(|| self.error("nested indefinite string"))?;
                    let length = self.length(length)?;
                    out.extend_from_slice(self.take(length)?);
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error("text is not UTF-8"))
    }

    fn item(&mut self) -> Result<Value, CborError> {
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        match major {
            0 => {
                let value = self
                    .argument(info)?
                    .ok_or_else(|| self.error("bad integer"))?;
                Ok(Value::Number(value.into()))
            }
            1 => {
                let value = self
                    .argument(info)?
                    .ok_or_else(|| self.error("bad integer"))?;
                let value = i64::try_from(value).map_err(|_| self.error("integer overflow"))?;
                Ok(Value::Number((-1 - value).into()))
            }
            2 => {
                let text = self.bytes_item(info)?;
                Ok(Value::Array(
                    text.into_iter().map(|b| Value::Number(b.into())).collect(),
                ))
            }
            3 => Ok(Value::String(self.text(info)?)),
            4 => {
                let mut items = Vec::new();
                match self.argument(info)? {
                    Some(count) => {
                        let count = self.length(count)?;
                        for _ in 0..count {
                            items.push(self.item()?);
                        }
                    }
                    None => {
                        while !self.peek_break() {
                            items.push(self.item()?);
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            5 => {
                let mut map = Map::new();
                match self.argument(info)? {
                    Some(count) => {
                        let count = self.length(count)?;
                        for _ in 0..count {
                            self.entry(&mut map)?;
                        }
                    }
                    None => {
                        while !self.peek_break() {
                            self.entry(&mut map)?;
                        }
                    }
                }
                Ok(Value::Object(map))
            }
            6 => {
                self.argument(info)?;
                self.item()
            }
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 | 23 => Ok(Value::Null),
                25 => {
                    let half = u16::from_be_bytes(self.array::<2>()?);
                    Ok(float(half_to_f64(half)))
                }
                26 => Ok(float(f64::from(f32::from_be_bytes(self.array::<4>()?)))),
                27 => Ok(float(f64::from_be_bytes(self.array::<8>()?))),
                _ => Err(self.error("unsupported simple value")),
            },
        }
    }

    fn bytes_item(&mut self, info: u8) -> Result<Vec<u8>, CborError> {
        let length = self
            .argument(info)?
            .ok_or_else(|| self.error("indefinite byte strings are not supported"))?;
        let length = self.length(length)?;
        Ok(self.take(length)?.to_vec())
    }

    fn entry(&mut self, map: &mut Map<String, Value>) -> Result<(), CborError> {
        let initial = self.byte()?;
        if initial >> 5 != 3 {
            return Err(self.error("map key is not text"));
        }
        let key = self.text(initial & 0x1f)?;
        let value = self.item()?;
        map.insert(key, value);
        Ok(())
    }
}

fn float(value: f64) -> Value {
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn half_to_f64(half: u16) -> f64 {
    let exponent = i32::from((half >> 10) & 0x1f);
    let mantissa = f64::from(half & 0x3ff);
    let magnitude = match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 => {
            if mantissa == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        _ => (mantissa + 1024.0) * 2f64.powi(exponent - 25),
    };
    if half & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Encodes a JSON value as CBOR: maps and arrays indefinite-length (as the AWS services do),
/// numbers under a key listed in `timestamp_keys` as tag 1 epoch seconds.
pub(crate) fn encode(value: &Value, timestamp_keys: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    encode_into(&mut out, value, timestamp_keys, false);
    out
}

fn head(out: &mut Vec<u8>, major: u8, value: u64) {
    let major = major << 5;
    if value < 24 {
        out.push(major | value as u8);
    } else if let Ok(byte) = u8::try_from(value) {
        out.push(major | 24);
        out.push(byte);
    } else if let Ok(short) = u16::try_from(value) {
        out.push(major | 25);
        out.extend_from_slice(&short.to_be_bytes());
    } else if let Ok(word) = u32::try_from(value) {
        out.push(major | 26);
        out.extend_from_slice(&word.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

fn encode_into(out: &mut Vec<u8>, value: &Value, timestamp_keys: &[&str], timestamp: bool) {
    if timestamp && let Value::Number(_) = value {
        head(out, 6, 1);
    }
    match value {
        Value::Null => out.push(0xf6),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                head(out, 0, unsigned);
            } else if let Some(signed) = number.as_i64() {
                head(out, 1, (-1 - signed) as u64);
            } else {
                out.push(0xfb);
                out.extend_from_slice(&number.as_f64().unwrap_or(0.0).to_be_bytes());
            }
        }
        Value::String(text) => {
            head(out, 3, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
        Value::Array(items) => {
            out.push(0x9f);
            for item in items {
                encode_into(out, item, timestamp_keys, false);
            }
            out.push(BREAK);
        }
        Value::Object(map) => {
            out.push(0xbf);
            for (key, item) in map {
                head(out, 3, key.len() as u64);
                out.extend_from_slice(key.as_bytes());
                encode_into(
                    out,
                    item,
                    timestamp_keys,
                    timestamp_keys.contains(&key.as_str()),
                );
            }
            out.push(BREAK);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_nested_values() {
        let value = json!({"a": [1, -5, "x", {"b": true}], "t": 1.5, "n": null, "big": 70000});
        let bytes = encode(&value, &[]);
        assert_eq!(decode(&bytes).unwrap(), value);
    }

    #[test]
    fn timestamps_are_tagged() {
        let bytes = encode(&json!({"startTime": 1700000000}), &["startTime"]);
        // map, key "startTime", tag 1 (0xc1), uint32
        assert_eq!(bytes[0], 0xbf);
        assert_eq!(bytes[11], 0xc1);
    }

    #[test]
    fn decodes_definite_maps_and_half_floats() {
        // {"a": 1.5 as half}
        let bytes = [0xa1, 0x61, b'a', 0xf9, 0x3e, 0x00];
        assert_eq!(decode(&bytes).unwrap(), json!({"a": 1.5}));
    }
}
