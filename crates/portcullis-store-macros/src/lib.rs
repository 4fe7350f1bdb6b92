//! `#[generic_sql]`: gives an `impl<DB> ...` block of `portcullis-store` the sqlx
//! bounds its queries need, so that the SQL is written once for SQLite and
//! PostgreSQL without each block repeating them.
//!
//! Rust implies only a trait's bounds on `Self` (and on its associated types), so
//! bounds such as `i64: Encode<'q, DB>` cannot be carried by the `Backend` trait;
//! this attribute writes them into the block's `where` clause instead. It adds
//! bounds and nothing else: the block's code is compiled (and reported on) where
//! it is written.

use proc_macro::TokenStream;
use quote::ToTokens as _;
use syn::{Item, WhereClause, parse_macro_input, parse_quote};

/// Adds to an `impl<DB> ...` block or a `fn f<DB>(...)`: `DB` is a `Backend`, queries execute on its
/// connections, and it encodes and decodes the column types the store uses
/// (`i64`, `bool`, text and bytes, owned, borrowed and optional).
#[proc_macro_attribute]
pub fn generic_sql(attr: TokenStream, item: TokenStream) -> TokenStream {
    parse_macro_input!(attr as syn::parse::Nothing);
    let mut item = parse_macro_input!(item as Item);
    let generics = match &mut item {
        Item::Impl(block) => &mut block.generics,
        Item::Fn(f) => &mut f.sig.generics,
        other => {
            return syn::Error::new_spanned(other, "#[generic_sql] goes on an impl block or a function")
                .to_compile_error()
                .into();
        }
    };
    let bounds: WhereClause = parse_quote! {
        where
            DB: crate::backend::Backend,
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
            DB::Arguments: sqlx::IntoArguments<DB>,
            for<'r> &'r str: sqlx::ColumnIndex<DB::Row>,
            usize: sqlx::ColumnIndex<DB::Row>,
            for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> String: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<String>: sqlx::Encode<'q, DB>,
            for<'q> Option<&'q str>: sqlx::Encode<'q, DB>,
            for<'q> Option<Vec<u8>>: sqlx::Encode<'q, DB>,
    };
    generics.make_where_clause().predicates.extend(bounds.predicates);
    item.into_token_stream().into()
}
