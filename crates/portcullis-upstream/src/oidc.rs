//! An upstream OpenID Connect provider, through the `openidconnect` crate:
//! discovery (cached for an hour, fetched again once when an ID token's key is
//! unknown, as after a key rotation), the authorization URL with our `state`,
//! `nonce` and PKCE challenge, the code exchange, and the ID token's checks
//! (signature with the provider's published keys, asymmetric algorithms only;
//! `iss`, `aud`, `exp`, `nonce`).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use openidconnect::core::{
    CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    DiscoveryError, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse as _,
};
use portcullis_core::upstream::{
    AuthorizeInput, CallbackInput, IdentityProvider, ProviderSettings, UpstreamError, UpstreamIdentity,
};
use tokio::sync::RwLock;

use crate::Credentials;
use crate::http_client::{self, Unreachable};

/// How long a discovery document (with its keys) is used before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The ID token signatures accepted: public-key ones only (never `none`, never a
/// MAC keyed with the client secret).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// `amr` values that say a second factor was used (RFC 8176).
const SECOND_FACTOR_AMR: [&str; 3] = ["mfa", "otp", "hwk"];

/// An OpenID Connect provider.
pub struct OidcProvider {
    settings: ProviderSettings,
    issuer: IssuerUrl,
    credentials: Credentials,
    http: reqwest::Client,
    metadata: RwLock<Option<(Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("id", &self.settings.id)
            .field("issuer", &self.issuer.as_str())
            .finish_non_exhaustive()
    }
}

fn refused(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Refused(e.to_string())
}

impl OidcProvider {
    /// Nothing is fetched yet: discovery happens at the first sign-in.
    pub fn new(settings: ProviderSettings, issuer: &str, credentials: Credentials) -> Result<Self, String> {
        let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| format!("issuer: {e}"))?;
        Ok(Self { settings, issuer, credentials, http: http_client::client()?, metadata: RwLock::new(None) })
    }

    /// The discovery document, from the cache unless `fresh` or stale.
    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, UpstreamError> {
        if !fresh
            && let Some((at, m)) = &*self.metadata.read().await
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let http = |req| http_client::send(self.http.clone(), req);
        let found = CoreProviderMetadata::discover_async(self.issuer.clone(), &http).await.map_err(
            |e: DiscoveryError<Unreachable>| match e {
                DiscoveryError::Request(e) => UpstreamError::Unreachable(format!("discovery: {e}")),
                other => refused(format!("discovery: {other}")),
            },
        )?;
        *self.metadata.write().await = Some((Instant::now(), found.clone()));
        Ok(found)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        UpstreamError,
    > {
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(refused)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.credentials.client_id.clone()),
            Some(ClientSecret::new(self.credentials.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The ID token's claims, checked; with the keys fetched again once when the
    /// signature does not verify with the cached ones.
    async fn verified_claims(
        &self,
        id_token: &openidconnect::core::CoreIdToken,
        redirect_uri: &str,
        nonce: &Nonce,
    ) -> Result<CoreIdTokenClaims, UpstreamError> {
        let check = |client: &CoreClient<_, _, _, _, _, _>| {
            let verifier = client.id_token_verifier().set_allowed_algs(ALGORITHMS);
            id_token.claims(&verifier, nonce).cloned()
        };
        let client = self.client(self.metadata(false).await?, redirect_uri)?;
        match check(&client) {
            Ok(claims) => Ok(claims),
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let client = self.client(self.metadata(true).await?, redirect_uri)?;
                check(&client).map_err(|e| refused(format!("ID token: {e}")))
            }
            Err(e) => Err(refused(format!("ID token: {e}"))),
        }
    }
}

#[async_trait]
impl IdentityProvider for OidcProvider {
    fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    async fn authorize_url(&self, input: AuthorizeInput<'_>) -> Result<String, UpstreamError> {
        let client = self.client(self.metadata(false).await?, input.redirect_uri)?;
        let (state, nonce) = (input.state.to_owned(), input.nonce.to_owned());
        let mut request = client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        );
        // `openid` is always asked for.
        for scope in self.credentials.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request
            .add_extra_param("code_challenge", input.code_challenge)
            .add_extra_param("code_challenge_method", "S256")
            .url();
        Ok(url.to_string())
    }

    async fn identify(&self, input: CallbackInput<'_>) -> Result<UpstreamIdentity, UpstreamError> {
        let client = self.client(self.metadata(false).await?, input.redirect_uri)?;
        let http = |req| http_client::send(self.http.clone(), req);
        let tokens = client
            .exchange_code(AuthorizationCode::new(input.code.to_owned()))
            .map_err(refused)?
            .set_pkce_verifier(PkceCodeVerifier::new(input.code_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                RequestTokenError::Request(e) => UpstreamError::Unreachable(format!("token endpoint: {e}")),
                other => refused(format!("token endpoint: {other}")),
            })?;
        let id_token = tokens.id_token().ok_or_else(|| refused("the token response has no ID token"))?;
        let nonce = Nonce::new(input.nonce.to_owned());
        let claims = self.verified_claims(id_token, input.redirect_uri, &nonce).await?;
        let second_factor = claims
            .auth_method_refs()
            .is_some_and(|amr| amr.iter().any(|m| SECOND_FACTOR_AMR.contains(&m.as_str())));
        let mut email = claims.email().map(|e| e.as_str().to_owned());
        let mut email_verified = claims.email_verified().unwrap_or(false);
        if email.is_none() {
            // Many providers keep the address for userinfo.
            if let Ok(request) =
                client.user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
            {
                let info: CoreUserInfoClaims = request.request_async(&http).await.map_err(|e| match e {
                    openidconnect::UserInfoError::Request(e) => {
                        UpstreamError::Unreachable(format!("userinfo: {e}"))
                    }
                    other => refused(format!("userinfo: {other}")),
                })?;
                email = info.email().map(|e| e.as_str().to_owned());
                email_verified = info.email_verified().unwrap_or(false);
            }
        }
        Ok(UpstreamIdentity {
            issuer: self.issuer.as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email,
            email_verified,
            second_factor,
        })
    }
}
