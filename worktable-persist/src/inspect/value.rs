//! [`Value`]: a field of a row read without its Rust type.

use std::cmp::Ordering;
use std::fmt;

/// A field's value, read from a row's archived bytes by the type its
/// schema description names (see [`inspect`](super) for the types read).
///
/// `Option::None` and `()` read as [`Value::Null`], `Some(x)` as `x`;
/// `Vec`, arrays, boxed slices and tuples as [`Value::List`]. Values are
/// totally ordered (integers by value, floats by
/// [`f64::total_cmp`], lists element by element), so a primary key read
/// this way orders rows.
///
/// ```
/// use worktable_persist::inspect::Value;
///
/// let key = Value::List(vec![Value::UInt(7), Value::Text("ada".into())]);
/// assert_eq!(key.to_string(), r#"[7, "ada"]"#);
/// assert!(Value::UInt(2) < Value::UInt(10));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Value {
    /// `None`, or `()`.
    Null,
    /// A `bool`.
    Bool(bool),
    /// A signed integer of any width.
    Int(i128),
    /// An unsigned integer of any width.
    UInt(u128),
    /// An `f64`, or an `f32` as the `f64` of its shortest decimal spelling
    /// (0.1, not 0.10000000149011612).
    Float(f64),
    /// A `char`.
    Char(char),
    /// A `String` or `Box<str>`.
    Text(String),
    /// A `Vec`, array, boxed slice or tuple, element by element.
    List(Vec<Value>),
}

impl Value {
    /// The rank of the variant, for ordering values of different variants.
    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::UInt(_) => 2,
            Value::Float(_) => 3,
            Value::Char(_) => 4,
            Value::Text(_) => 5,
            Value::List(_) => 6,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::UInt(a), Value::UInt(b)) => a.cmp(b),
            // A negative signed value is below every unsigned one; a
            // non-negative one compares by value.
            (Value::Int(a), Value::UInt(b)) => {
                u128::try_from(*a).map_or(Ordering::Less, |a| a.cmp(b))
            }
            (Value::UInt(a), Value::Int(b)) => {
                u128::try_from(*b).map_or(Ordering::Greater, |b| a.cmp(&b))
            }
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Char(a), Value::Char(b)) => a.cmp(b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (Value::List(a), Value::List(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// JSON-like: `null`, `true`, numbers, quoted and escaped text, `[a, b]`.
/// A `char` prints as a one-character string; a float that is not finite
/// as `NaN`, `inf` or `-inf`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Char(c) => write!(f, "{:?}", c.to_string()),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}
