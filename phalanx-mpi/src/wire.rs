//! [`Wire`]: how tasks and results cross a rank boundary. A small,
//! explicit byte encoding (little-endian, lengths as `u64`), so any type
//! built from integers, floats, strings, vectors, options and tuples can be
//! a task or a result without an MPI datatype. Every rank runs the same
//! binary (SPMD), so both ends agree on the types; a message that does not
//! decode is a bug and is reported with what was being decoded.

use std::fmt;

/// A type that can be sent to another rank as bytes.
///
/// ```
/// use phalanx_mpi::Wire;
/// let v: (u64, String, Vec<f64>) = (7, "seven".into(), vec![0.5, 1.5]);
/// let mut bytes = Vec::new();
/// v.encode(&mut bytes);
/// let back = <(u64, String, Vec<f64>)>::decode(&mut &bytes[..]).unwrap();
/// assert_eq!(back, v);
/// ```
pub trait Wire: Sized {
    /// Append this value's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Read one value from the front of `input`, advancing it.
    fn decode(input: &mut &[u8]) -> Result<Self, WireError>;
}

/// A message that does not decode: it ended early or held an invalid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// What was being decoded.
    pub what: &'static str,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "phalanx-mpi: a message did not decode ({}): do all ranks run the same binary?", self.what)
    }
}

impl std::error::Error for WireError {}

/// Take `n` bytes from the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
    if input.len() < n {
        return Err(WireError { what });
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

macro_rules! wire_number {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            #[inline]
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
                let b = take(input, std::mem::size_of::<$t>(), stringify!($t))?;
                Ok(<$t>::from_le_bytes(b.try_into().expect("length checked by take")))
            }
        }
    )*};
}

wire_number!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

/// `usize` travels as a `u64`, so ranks of different word sizes agree.
impl Wire for usize {
    fn encode(&self, out: &mut Vec<u8>) {
        (*self as u64).encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        usize::try_from(u64::decode(input)?).map_err(|_| WireError { what: "usize (value too large)" })
    }
}

impl Wire for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self))
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        match u8::decode(input)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError { what: "bool" }),
        }
    }
}

impl Wire for () {
    fn encode(&self, _out: &mut Vec<u8>) {}
    fn decode(_input: &mut &[u8]) -> Result<Self, WireError> {
        Ok(())
    }
}

impl Wire for String {
    fn encode(&self, out: &mut Vec<u8>) {
        self.len().encode(out);
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        let n = usize::decode(input)?;
        let b = take(input, n, "String")?;
        String::from_utf8(b.to_vec()).map_err(|_| WireError { what: "String (not UTF-8)" })
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.len().encode(out);
        for x in self {
            x.encode(out);
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        let n = usize::decode(input)?;
        // Do not trust `n` for the allocation: a corrupt length fails on the
        // first missing element instead of allocating terabytes.
        let mut v = Vec::with_capacity(n.min(input.len()));
        for _ in 0..n {
            v.push(T::decode(input)?);
        }
        Ok(v)
    }
}

impl<T: Wire> Wire for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(x) => {
                out.push(1);
                x.encode(out)
            }
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        match u8::decode(input)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(input)?)),
            _ => Err(WireError { what: "Option tag" }),
        }
    }
}

impl<T: Wire, const N: usize> Wire for [T; N] {
    fn encode(&self, out: &mut Vec<u8>) {
        for x in self {
            x.encode(out);
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        let mut v = Vec::with_capacity(N);
        for _ in 0..N {
            v.push(T::decode(input)?);
        }
        Ok(v.try_into().unwrap_or_else(|_| unreachable!("exactly N elements were pushed")))
    }
}

macro_rules! wire_tuple {
    ($($name:ident),+) => {
        impl<$($name: Wire),+> Wire for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode(out);)+
            }
            fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
                Ok(($($name::decode(input)?,)+))
            }
        }
    };
}

wire_tuple!(A);
wire_tuple!(A, B);
wire_tuple!(A, B, C);
wire_tuple!(A, B, C, D);
wire_tuple!(A, B, C, D, E);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Wire + PartialEq + fmt::Debug>(v: T) {
        let mut b = Vec::new();
        v.encode(&mut b);
        let mut s = &b[..];
        assert_eq!(T::decode(&mut s).unwrap(), v);
        assert!(s.is_empty(), "decode left {} byte(s)", s.len());
    }

    #[test]
    fn values_round_trip() {
        round_trip(0u8);
        round_trip(u64::MAX);
        round_trip(-5i32);
        round_trip(f64::MIN_POSITIVE);
        round_trip(usize::MAX >> 1);
        round_trip(true);
        round_trip(String::from("héllo"));
        round_trip(vec![(1u64, Some(2.5f32)), (3, None)]);
        round_trip([1u16, 2, 3]);
        round_trip((1u8, 2u16, 3u32, 4u64, String::new()));
        round_trip(());
    }

    #[test]
    fn short_or_bad_input_is_an_error() {
        let mut b = Vec::new();
        vec![1u64, 2, 3].encode(&mut b);
        b.truncate(b.len() - 1);
        assert_eq!(Vec::<u64>::decode(&mut &b[..]).unwrap_err().what, "u64");
        assert_eq!(bool::decode(&mut &[2u8][..]).unwrap_err().what, "bool");
        let mut s = Vec::new();
        2usize.encode(&mut s);
        s.extend_from_slice(&[0xff, 0xfe]);
        assert_eq!(String::decode(&mut &s[..]).unwrap_err().what, "String (not UTF-8)");
    }
}
