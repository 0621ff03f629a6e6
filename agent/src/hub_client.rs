//! The agent's HTTPS client for the hub. The hub's certificate is pinned by its SHA-256
//! fingerprint at enrollment (shown to the collector, who can compare it with what the office
//! sees); afterwards a server with any other certificate is refused. The handshake signature
//! is still verified, so a copied certificate without its key does not pass.

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use caiji_shared::sync::Enrolled;
use caiji_shared::sync::{
    AgentPlan, EnrollRequest, ErrorBody, EventVersion, SyncRequest, SyncResponse, decode, encode,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

const MISMATCH: &str = "caiji: certificate fingerprint mismatch";

#[derive(Debug, thiserror::Error)]
pub enum HubClientError {
    #[error("无法连接中心端 {url}：{detail}")]
    Offline { url: String, detail: String },
    #[error(
        "中心端证书指纹与登记时不一致（登记时：{expected}；现在：{seen}）。可能连接到了假冒的服务器，已停止同步；请与平台管理办公室核对"
    )]
    Fingerprint { expected: String, seen: String },
    #[error("{0}")]
    Revoked(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("中心端拒绝了请求（{code}）：{message}")]
    Refused { status: u16, code: String, message: String },
    #[error("中心端的回应无法识别：{0}")]
    Protocol(String),
}

impl HubClientError {
    /// Whether retrying later may help (the network or the hub is down), as opposed to a
    /// refusal that needs a person.
    pub fn is_transient(&self) -> bool {
        matches!(self, HubClientError::Offline { .. })
            || matches!(self, HubClientError::Refused { status, .. } if *status >= 500)
    }
}

/// SHA-256 of a certificate's DER, as colon-separated upper-case hex (as the hub prints it).
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[derive(Debug)]
struct Pinned {
    expected: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity);
        *self.seen.lock().expect("fingerprint lock") = Some(fp.clone());
        match &self.expected {
            Some(e) if !e.eq_ignore_ascii_case(&fp) => Err(rustls::Error::General(MISMATCH.into())),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection to one hub.
#[derive(Clone)]
pub struct HubClient {
    url: String,
    token: Option<String>,
    http: reqwest::Client,
    long: reqwest::Client,
    seen: Arc<Mutex<Option<String>>>,
    expected: Option<String>,
    /// Sync body bytes sent and received by this client and its clones (for status and
    /// benchmarks).
    traffic: Arc<(std::sync::atomic::AtomicU64, std::sync::atomic::AtomicU64)>,
}

impl HubClient {
    /// A client for `url` that accepts only the certificate with fingerprint `pinned` (or any
    /// certificate when `None`, for enrollment, which then shows what it saw).
    pub fn new(url: &str, pinned: Option<&str>, token: Option<&str>) -> Result<HubClient, HubClientError> {
        let url = url.trim_end_matches('/').to_string();
        let seen = Arc::new(Mutex::new(None));
        let build = |timeout: Duration| -> Result<reqwest::Client, HubClientError> {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier =
                Arc::new(Pinned { expected: pinned.map(String::from), seen: seen.clone(), provider: provider.clone() });
            let mut tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| HubClientError::Protocol(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth();
            tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .connect_timeout(Duration::from_secs(10))
                .timeout(timeout)
                .pool_idle_timeout(Duration::from_secs(90))
                .build()
                .map_err(|e| HubClientError::Protocol(e.to_string()))
        };
        Ok(HubClient {
            http: build(Duration::from_secs(120))?,
            long: build(Duration::from_secs(90))?,
            url,
            token: token.map(String::from),
            seen,
            expected: pinned.map(String::from),
            traffic: Arc::default(),
        })
    }

    /// (bytes sent, bytes received) in sync bodies so far.
    pub fn traffic(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (self.traffic.0.load(Ordering::Relaxed), self.traffic.1.load(Ordering::Relaxed))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The fingerprint of the certificate the hub presented on the last connection.
    pub fn seen_fingerprint(&self) -> Option<String> {
        self.seen.lock().expect("fingerprint lock").clone()
    }

    fn connect_error(&self, e: reqwest::Error) -> HubClientError {
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if s.to_string().contains(MISMATCH) {
                return HubClientError::Fingerprint {
                    expected: self.expected.clone().unwrap_or_default(),
                    seen: self.seen_fingerprint().unwrap_or_default(),
                };
            }
            source = s.source();
        }
        let detail = if e.is_timeout() {
            "连接超时".to_string()
        } else if e.is_connect() {
            "网络不通或中心端未运行".to_string()
        } else {
            "连接中断".to_string()
        };
        HubClientError::Offline { url: self.url.clone(), detail }
    }

    async fn check(
        &self,
        resp: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<reqwest::Response, HubClientError> {
        let resp = resp.map_err(|e| self.connect_error(e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body: Option<ErrorBody> = resp.json().await.ok();
        let (code, message) =
            body.map_or_else(|| ("unknown".to_string(), format!("HTTP {status}")), |b| (b.code, b.message));
        Err(match code.as_str() {
            "agent_revoked" => HubClientError::Revoked(message),
            "unauthorized" | "enroll_code_invalid" => HubClientError::Unauthorized(message),
            _ => HubClientError::Refused { status, code, message },
        })
    }

    fn authorised(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Redeems an enrollment code.
    pub async fn enroll(&self, code: &str, agent_name: &str) -> Result<Enrolled, HubClientError> {
        let body = EnrollRequest { code: code.to_string(), agent_name: agent_name.to_string() };
        let resp = self.check(self.http.post(format!("{}/api/enroll", self.url)).json(&body).send().await).await?;
        resp.json().await.map_err(|e| HubClientError::Protocol(e.to_string()))
    }

    pub async fn plan(&self) -> Result<AgentPlan, HubClientError> {
        let resp =
            self.check(self.authorised(self.http.get(format!("{}/api/agent/plan", self.url))).send().await).await?;
        resp.json().await.map_err(|e| HubClientError::Protocol(e.to_string()))
    }

    /// One sync round. Returns the response and the bytes sent and received.
    pub async fn sync(&self, req: &SyncRequest) -> Result<(SyncResponse, usize, usize), HubClientError> {
        let body = encode(req);
        let sent = body.len();
        let rb = self
            .authorised(self.http.post(format!("{}/api/agent/sync", self.url)))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        let resp = self.check(rb.send().await).await?;
        let bytes = resp.bytes().await.map_err(|e| self.connect_error(e))?;
        let decoded = decode(&bytes).map_err(|e| HubClientError::Protocol(e.to_string()))?;
        use std::sync::atomic::Ordering;
        self.traffic.0.fetch_add(sent as u64, Ordering::Relaxed);
        self.traffic.1.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok((decoded, sent, bytes.len()))
    }

    /// Waits (long-poll) until the hub has news newer than `since` for this agent.
    pub async fn events(&self, since: u64, wait_secs: u64) -> Result<u64, HubClientError> {
        let url = format!("{}/api/agent/events?since={since}&wait={wait_secs}", self.url);
        let resp = self.check(self.authorised(self.long.get(url)).send().await).await?;
        let v: EventVersion = resp.json().await.map_err(|e| HubClientError::Protocol(e.to_string()))?;
        Ok(v.version)
    }
}
