//! Values stored as TEXT, read strictly: a stored value that is not one its column allows is an
//! error naming the column and the value, never a default.
//!
//! - Our own enums are declared with [`text_enum!`]: one stable name per variant, used alike in
//!   the database (`ToSql`/`FromSql`), in JSON (serde) and in messages (`Display`, `FromStr`),
//!   with `ALL` listing every variant. Migration 6 adds a trigger per such column that refuses
//!   any other value, and a test checks each trigger's list against the enum's `ALL`.
//! - A foreign type with `FromStr` (`DataClass`, `Role`, `ApprovalState`, `FileStatus`) is read
//!   with [`parsed`], JSON columns with [`json`] and [`json_opt`].
//!
//! A value that does not decode becomes [`rusqlite::Error::FromSqlConversionFailure`] carrying an
//! [`InvalidStored`]: a `StoreError`, so the API answers 500 (our fault, logged in full).

use rusqlite::Row;
use rusqlite::types::Type;
use serde::de::DeserializeOwned;
use std::fmt;
use std::str::FromStr;

/// A stored value that its column does not allow: the database was changed by something other
/// than this code (a hand edit, a bad restore) or by a bug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {column}: {value:?} ({reason})")]
pub struct InvalidStored {
    /// `table.column`.
    pub column: &'static str,
    /// The stored text (cut to 200 characters).
    pub value: String,
    /// Why it does not decode.
    pub reason: String,
}

impl InvalidStored {
    fn new(column: &'static str, value: &str, reason: impl fmt::Display) -> InvalidStored {
        InvalidStored {
            column,
            value: value.chars().take(200).collect(),
            reason: reason.to_string(),
        }
    }

    /// As the error `Row::get` returns for column `idx`.
    pub fn at(self, idx: usize) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(self))
    }
}

/// A name that is not one of an enum's stable names (from a query, a request body, a file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownName {
    /// What was being named (`rfq status`).
    pub what: &'static str,
    /// What was given.
    pub given: String,
    /// The names allowed.
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?}; allowed: {}",
            self.what,
            self.given,
            self.allowed.join(", ")
        )
    }
}

/// Declares an enum stored as TEXT in one column (see the module doc):
///
/// ```ignore
/// text_enum! {
///     /// Doc.
///     pub enum QuoteStatus in "rfq_quotes.status" as "quote status" {
///         /// Doc.
///         Pending = "pending",
///     }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $column:literal as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable name of every variant, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// The column that stores it (`table.column`).
            pub const COLUMN: &'static str = $column;

            /// The stable name (in the database, in JSON, in messages).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::store::sql::UnknownName;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err($crate::store::sql::UnknownName {
                        what: $what,
                        given: s.to_string(),
                        allowed: Self::NAMES,
                    }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse()
                    .map_err(|_| ::serde::de::Error::unknown_variant(&s, Self::NAMES))
            }
        }

        impl ::rusqlite::ToSql for $name {
            fn to_sql(&self) -> ::rusqlite::Result<::rusqlite::types::ToSqlOutput<'_>> {
                Ok(::rusqlite::types::ToSqlOutput::Borrowed(
                    ::rusqlite::types::ValueRef::Text(self.as_str().as_bytes()),
                ))
            }
        }

        impl ::rusqlite::types::FromSql for $name {
            fn column_result(
                v: ::rusqlite::types::ValueRef<'_>,
            ) -> ::rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                s.parse().map_err(|_| {
                    ::rusqlite::types::FromSqlError::Other(Box::new(
                        $crate::store::sql::InvalidStored {
                            column: $column,
                            value: s.chars().take(200).collect(),
                            reason: format!("allowed: {}", Self::NAMES.join(", ")),
                        },
                    ))
                })
            }
        }
    };
}
pub(crate) use text_enum;

/// Column `idx` (`table.column`, for the error) as a `T` parsed from its text: a value that does
/// not parse is an error, never a default.
pub fn parsed<T>(row: &Row<'_>, idx: usize, column: &'static str) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let s: String = row.get(idx)?;
    s.parse()
        .map_err(|e| InvalidStored::new(column, &s, e).at(idx))
}

/// Like [`parsed`] for a nullable column: NULL is `None`.
pub fn parsed_opt<T>(row: &Row<'_>, idx: usize, column: &'static str) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        s.parse()
            .map_err(|e| InvalidStored::new(column, &s, e).at(idx))
    })
    .transpose()
}

/// Column `idx` (`table.column`) as JSON decoded into `T`: text that is not such JSON is an
/// error, never `null`.
pub fn json<T: DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
    column: &'static str,
) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    decode_json(&s, column).map_err(|e| e.at(idx))
}

/// Like [`json`] for a nullable column: NULL is `None`.
pub fn json_opt<T: DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
    column: &'static str,
) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| decode_json(&s, column).map_err(|e| e.at(idx)))
        .transpose()
}

/// Stored JSON text (`table.column`, for the error) decoded into `T`.
pub fn decode_json<T: DeserializeOwned>(
    text: &str,
    column: &'static str,
) -> Result<T, InvalidStored> {
    serde_json::from_str(text).map_err(|e| InvalidStored::new(column, text, e))
}

/// Serde for a type kept as the same text in JSON as in its column (`Display` out, `FromStr`
/// in): `#[serde(with = "crate::store::sql::as_text")]`.
pub mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::fmt::Display;
    use std::str::FromStr;

    /// Writes `v` as its `Display` text.
    pub fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads a `T` from its text.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, params};

    text_enum! {
        /// A test enum.
        enum Colour in "paint.colour" as "colour" {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "dark_blue",
        }
    }

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE paint (colour TEXT, class TEXT, doc TEXT)")
            .unwrap();
        c
    }

    #[test]
    fn names_round_trip_through_every_representation() {
        assert_eq!(Colour::ALL, &[Colour::Red, Colour::DarkBlue]);
        assert_eq!(Colour::NAMES, &["red", "dark_blue"]);
        assert_eq!(Colour::COLUMN, "paint.colour");
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>().unwrap(), *c);
            assert_eq!(c.to_string(), c.as_str());
            let j = serde_json::to_value(c).unwrap();
            assert_eq!(j, c.as_str());
            assert_eq!(serde_json::from_value::<Colour>(j).unwrap(), *c);
        }
        let e = "Red".parse::<Colour>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown colour \"Red\"; allowed: red, dark_blue"
        );
        let e = serde_json::from_str::<Colour>("\"green\"").unwrap_err();
        assert!(e.to_string().contains("unknown variant `green`"), "{e}");
    }

    #[test]
    fn stored_enums_round_trip_and_unknown_values_are_errors() {
        let c = db();
        c.execute("INSERT INTO paint (colour) VALUES (?1)", [Colour::DarkBlue])
            .unwrap();
        let got: Colour = c
            .query_row("SELECT colour FROM paint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(got, Colour::DarkBlue);
        c.execute("UPDATE paint SET colour = 'green'", []).unwrap();
        let e = c
            .query_row("SELECT colour FROM paint", [], |r| r.get::<_, Colour>(0))
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, rusqlite::Error::FromSqlConversionFailure(0, _, _)),
            "{e:?}"
        );
        assert!(
            msg.contains("paint.colour") && msg.contains("\"green\""),
            "{msg}"
        );
    }

    #[test]
    fn foreign_types_and_json_are_read_strictly() {
        let c = db();
        c.execute(
            "INSERT INTO paint (class, doc) VALUES (?1, ?2)",
            params!["core+sensitive", "{\"a\": 1}"],
        )
        .unwrap();
        let (class, doc): (policies::DataClass, serde_json::Value) = c
            .query_row("SELECT class, doc FROM paint", [], |r| {
                Ok((parsed(r, 0, "paint.class")?, json(r, 1, "paint.doc")?))
            })
            .unwrap();
        assert_eq!(class.to_string(), "core+sensitive");
        assert_eq!(doc["a"], 1);
        c.execute("UPDATE paint SET class = 'secret', doc = '{not json'", [])
            .unwrap();
        let e = c
            .query_row("SELECT class FROM paint", [], |r| {
                parsed::<policies::DataClass>(r, 0, "paint.class")
            })
            .unwrap_err();
        assert!(
            e.to_string().contains("invalid paint.class: \"secret\""),
            "{e}"
        );
        let e = c
            .query_row("SELECT doc FROM paint", [], |r| {
                json::<serde_json::Value>(r, 0, "paint.doc")
            })
            .unwrap_err();
        assert!(e.to_string().contains("invalid paint.doc"), "{e}");
        let none: Option<serde_json::Value> = c
            .query_row("SELECT NULL", [], |r| json_opt(r, 0, "x.y"))
            .unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn as_text_keeps_the_column_text_in_json() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Doc {
            #[serde(with = "super::as_text")]
            class: policies::DataClass,
        }
        let d = Doc {
            class: policies::DataClass::IMPORTANT,
        };
        let j = serde_json::to_string(&d).unwrap();
        assert_eq!(j, r#"{"class":"important"}"#);
        assert_eq!(serde_json::from_str::<Doc>(&j).unwrap(), d);
        assert!(serde_json::from_str::<Doc>(r#"{"class":"top"}"#).is_err());
    }
}
