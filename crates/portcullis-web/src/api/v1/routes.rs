//! The one way `/api/v1` routes are registered. Each route goes into the axum router
//! and, in test builds, into a list of operations that remembers what its handler
//! reads from the body, so `doc_check` can hold the hand-written OpenAPI document
//! against the handlers themselves: an operation added, moved or given a new body
//! without the document following fails a test.

use axum::Router;
use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};

use crate::extract::{ApiJson, OptionalJson};
use crate::state::AppState;

/// The routes of one area of the API (and, in tests, their operations).
pub(super) struct Routes {
    router: Router<AppState>,
    #[cfg(test)]
    pub(super) operations: Vec<super::doc_check::Operation>,
}

impl Routes {
    pub(super) fn new() -> Self {
        Self {
            router: Router::new(),
            #[cfg(test)]
            operations: Vec::new(),
        }
    }

    pub(super) fn get<H, T, M>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState> + ReadsBody<M>,
        T: 'static,
    {
        self.add(MethodFilter::GET, "get", path, handler)
    }

    pub(super) fn put<H, T, M>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState> + ReadsBody<M>,
        T: 'static,
    {
        self.add(MethodFilter::PUT, "put", path, handler)
    }

    pub(super) fn post<H, T, M>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState> + ReadsBody<M>,
        T: 'static,
    {
        self.add(MethodFilter::POST, "post", path, handler)
    }

    pub(super) fn patch<H, T, M>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState> + ReadsBody<M>,
        T: 'static,
    {
        self.add(MethodFilter::PATCH, "patch", path, handler)
    }

    pub(super) fn delete<H, T, M>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState> + ReadsBody<M>,
        T: 'static,
    {
        self.add(MethodFilter::DELETE, "delete", path, handler)
    }

    /// Both areas' routes; a path may get methods from several calls.
    pub(super) fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        #[cfg(test)]
        self.operations.extend(other.operations);
        self
    }

    pub(super) fn into_router(self) -> Router<AppState> {
        self.router
    }

    #[cfg_attr(not(test), expect(unused_variables, reason = "the method's name is recorded in tests only"))]
    fn add<H, T, M>(
        mut self,
        filter: MethodFilter,
        method: &'static str,
        path: &'static str,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState> + ReadsBody<M>,
        T: 'static,
    {
        #[cfg(test)]
        self.operations.push(super::doc_check::Operation { method, path, body: H::body() });
        self.router = self.router.route(path, on(filter, handler));
        self
    }
}

/// What a handler reads from the request body, found from its last argument's type:
/// `ApiJson<T>` (a required body of type `T`), `OptionalJson<T>` (an optional one) or
/// anything read from the request's head (no body). `M` only tells the impls apart.
pub(super) trait ReadsBody<M> {
    #[cfg(test)]
    fn body() -> Option<super::doc_check::Body>;
}

/// Marks a handler whose last argument is `ApiJson<T>`.
pub(super) struct Required;
/// Marks a handler whose last argument is `OptionalJson<T>`.
pub(super) struct Optional;
/// Marks a handler that reads no body.
pub(super) struct NoBody;

macro_rules! reads_body {
    ($($arg:ident),*) => {
        impl<F, Fut, $($arg,)* T> ReadsBody<(Required, $($arg,)* T)> for F
        where
            F: Fn($($arg,)* ApiJson<T>) -> Fut,
            T: serde::de::DeserializeOwned,
        {
            #[cfg(test)]
            fn body() -> Option<super::doc_check::Body> {
                Some(super::doc_check::Body::of::<T>(true))
            }
        }

        impl<F, Fut, $($arg,)* T> ReadsBody<(Optional, $($arg,)* T)> for F
        where
            F: Fn($($arg,)* OptionalJson<T>) -> Fut,
            T: serde::de::DeserializeOwned,
        {
            #[cfg(test)]
            fn body() -> Option<super::doc_check::Body> {
                Some(super::doc_check::Body::of::<T>(false))
            }
        }

        impl<F, Fut, $($arg,)* L> ReadsBody<(NoBody, $($arg,)* L)> for F
        where
            F: Fn($($arg,)* L) -> Fut,
            L: FromRequestParts<AppState>,
        {
            #[cfg(test)]
            fn body() -> Option<super::doc_check::Body> {
                None
            }
        }
    };
}

reads_body!();
reads_body!(A1);
reads_body!(A1, A2);
reads_body!(A1, A2, A3);
reads_body!(A1, A2, A3, A4);
reads_body!(A1, A2, A3, A4, A5);
