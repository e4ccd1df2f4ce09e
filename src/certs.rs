//! The owner's page certificate: read from the PEM files `admin_cert` and `admin_key`, or, when
//! neither exists yet (first start), a self-signed one made here (ECDSA P-256 through ring, which
//! rustls links anyway) and written there. The running certificate is swapped in place when a
//! reload brings a good new one and kept when the new files are bad. Its SHA-256 fingerprint is
//! what the owner compares with the browser's warning.
//! Touches: the two files. Never: SQLite, HTTP handling, the kernel.

use crate::clock::Unix;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Why the certificate cannot be used; names the option and the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("option {option}: {path}: {msg}")]
    File {
        option: &'static str,
        path: String,
        msg: String,
    },
}

fn bad(option: &'static str, path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::File {
        option,
        path: path.display().to_string(),
        msg: msg.to_string(),
    }
}

/// A certificate ready to serve.
#[derive(Debug)]
pub struct Loaded {
    key: Arc<CertifiedKey>,
    /// SHA-256 of the certificate, `AB:CD:…` as browsers show it.
    pub fingerprint: String,
    /// The files it was read from, and when they were last changed (a reload re-reads changes).
    from: Vec<(PathBuf, Option<std::time::SystemTime>)>,
}

/// The certificate the owner's listener serves; rustls asks it at every handshake.
#[derive(Debug)]
pub struct Certs {
    current: RwLock<Arc<Loaded>>,
}

impl Certs {
    pub fn new(loaded: Loaded) -> Arc<Certs> {
        Arc::new(Certs {
            current: RwLock::new(Arc::new(loaded)),
        })
    }

    pub fn fingerprint(&self) -> String {
        self.get().fingerprint.clone()
    }

    fn get(&self) -> Arc<Loaded> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether `cert` and `key` are other files, or changed, since the running ones were read.
    pub fn differs(&self, cert: &Path, key: &Path) -> bool {
        self.get().from != stamps(cert, key)
    }

    /// Puts a newly read certificate in force.
    pub fn replace(&self, loaded: Loaded) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
    }

    /// A TLS acceptor (HTTP/1.1) serving whatever certificate is in force.
    pub fn acceptor(self: &Arc<Self>) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get().key.clone())
    }
}

fn stamps(cert: &Path, key: &Path) -> Vec<(PathBuf, Option<std::time::SystemTime>)> {
    [cert, key]
        .iter()
        .map(|p| {
            let changed = std::fs::metadata(p).and_then(|m| m.modified()).ok();
            (p.to_path_buf(), changed)
        })
        .collect()
}

/// Reads `cert` and `key`; if neither exists, first makes a self-signed certificate for `names`
/// and `ips` there (the key file 0600). Blocking.
pub fn load_or_create(
    cert: &Path,
    key: &Path,
    names: &[String],
    ips: &[IpAddr],
    now: Unix,
) -> Result<Loaded, Error> {
    if !cert.exists() && !key.exists() {
        let (cert_der, key_der) =
            self_signed(names, ips, now).map_err(|e| bad("admin_cert", cert, e))?;
        write_pem(key, "PRIVATE KEY", &key_der, 0o600).map_err(|e| bad("admin_key", key, e))?;
        write_pem(cert, "CERTIFICATE", &cert_der, 0o644).map_err(|e| bad("admin_cert", cert, e))?;
        log::info!(
            "owner's page: made a self-signed certificate {} (SHA-256 {})",
            cert.display(),
            fingerprint(&cert_der)
        );
    }
    load(cert, key)
}

/// Reads a PEM certificate chain and its private key; errors name the option and file.
pub fn load(cert: &Path, key: &Path) -> Result<Loaded, Error> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad("admin_cert", cert, pem_words(e)))?;
    let Some(first) = chain.first() else {
        return Err(bad("admin_cert", cert, "no PEM certificate in it"));
    };
    let fingerprint = fingerprint(first);
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad("admin_key", key, pem_words(e)))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&private)
        .map_err(|e| bad("admin_key", key, format!("not a usable private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|_| {
        bad(
            "admin_key",
            key,
            "is not the key of admin_cert's certificate",
        )
    })?;
    Ok(Loaded {
        key: Arc::new(certified),
        fingerprint,
        from: stamps(cert, key),
    })
}

fn pem_words(e: rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::NoItemsFound => "no PEM item of the right kind in it".into(),
        rustls_pki_types::pem::Error::Io(e) => e.to_string(),
        e => format!("not PEM: {e:?}"),
    }
}

/// SHA-256 of a DER certificate as browsers print it: `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn write_pem(path: &Path, label: &str, der: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap_or_default());
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// A self-signed X.509 v3 certificate (ECDSA P-256, SHA-256) for `names` and `ips`, valid from a
/// day before `now` to the end of 2049, and its private key (PKCS#8), both DER.
pub fn self_signed(
    names: &[String],
    ips: &[IpAddr],
    now: Unix,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| "could not make a key".to_string())?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| "could not read the key just made".to_string())?;
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&rng, &mut serial).map_err(|_| "no randomness".to_string())?;
    serial[0] &= 0x7f; // a positive INTEGER
    serial[0] |= 0x40; // and no leading zero byte to strip
    let name = der::seq(&[der::set(&[der::seq(&[
        der::OID_COMMON_NAME.to_vec(),
        der::tlv(0x0c, b"Lango owner's page"),
    ])])]);
    let mut alt = vec![];
    for n in names {
        alt.push(der::tlv(0x82, n.as_bytes()));
    }
    for ip in ips {
        let bytes = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        alt.push(der::tlv(0x87, &bytes));
    }
    let extensions = der::seq(&[
        der::seq(&[
            der::OID_SUBJECT_ALT_NAME.to_vec(),
            der::tlv(0x04, &der::seq(&alt)),
        ]),
        der::seq(&[
            der::OID_EXT_KEY_USAGE.to_vec(),
            der::tlv(0x04, &der::seq(&[der::OID_SERVER_AUTH.to_vec()])),
        ]),
    ]);
    let not_before = crate::clock::utc_timestamp(now - 86_400);
    let tbs = der::seq(&[
        der::tlv(0xa0, &der::tlv(0x02, &[2])), // version 3
        der::tlv(0x02, &serial),
        der::seq(&[der::OID_ECDSA_SHA256.to_vec()]),
        name.clone(),
        der::seq(&[
            der::tlv(0x17, format!("{}Z", &not_before[2..]).as_bytes()),
            der::tlv(0x17, b"491231235959Z"),
        ]),
        name,
        der::seq(&[
            der::seq(&[der::OID_EC_PUBLIC_KEY.to_vec(), der::OID_P256.to_vec()]),
            der::bit_string(pair.public_key().as_ref()),
        ]),
        der::tlv(0xa3, &extensions),
    ]);
    let signature = pair
        .sign(&rng, &tbs)
        .map_err(|_| "could not sign the certificate".to_string())?;
    let cert = der::seq(&[
        tbs,
        der::seq(&[der::OID_ECDSA_SHA256.to_vec()]),
        der::bit_string(signature.as_ref()),
    ]);
    Ok((cert, pkcs8.as_ref().to_vec()))
}

/// The few DER shapes a certificate needs.
mod der {
    pub const OID_COMMON_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    pub const OID_SUBJECT_ALT_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x11];
    pub const OID_EXT_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x25];
    pub const OID_SERVER_AUTH: &[u8] =
        &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    pub const OID_ECDSA_SHA256: &[u8] =
        &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    pub const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

    /// Tag, length, value.
    pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = value.len();
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(value);
        out
    }

    pub fn seq(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &items.concat())
    }

    pub fn set(items: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x31, &items.concat())
    }

    pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![0];
        v.extend_from_slice(bytes);
        tlv(0x03, &v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("lango-certs-{name}-{}", crate::random::hex::<4>()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn first_start_makes_a_certificate_that_rustls_verifies() {
        use rustls::client::danger::ServerCertVerifier;
        let d = dir("make");
        let (cert, key) = (d.join("admin.crt"), d.join("admin.key"));
        let names = vec!["localhost".to_string(), "router.lan".to_string()];
        let ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let made = load_or_create(&cert, &key, &names, &ips, 1_795_347_005).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key is owner-only");
        assert_eq!(made.fingerprint.len(), 32 * 3 - 1);
        // A second start reads the same certificate back.
        let again = load_or_create(&cert, &key, &names, &ips, 1_795_347_999).unwrap();
        assert_eq!(again.fingerprint, made.fingerprint);

        // webpki (what rustls clients use) accepts it for its names and addresses.
        let der = CertificateDer::from_pem_file(&cert).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der.clone()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        let at = rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            1_795_347_005,
        ));
        for name in ["router.lan", "127.0.0.1", "::1"] {
            let server = rustls_pki_types::ServerName::try_from(name).unwrap();
            verifier
                .verify_server_cert(&der, &[], &server, &[], at)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let other = rustls_pki_types::ServerName::try_from("evil.example").unwrap();
        assert!(verifier
            .verify_server_cert(&der, &[], &other, &[], at)
            .is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn bad_files_are_named() {
        let d = dir("bad");
        let (cert, key) = (d.join("admin.crt"), d.join("admin.key"));
        std::fs::write(&cert, "not a certificate").unwrap();
        let e = load_or_create(&cert, &key, &[], &[], 0)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("option admin_cert: "), "{e}");
        // A certificate with another certificate's key.
        let (c1, _) = self_signed(&["a".into()], &[], 0).unwrap();
        let (_, k2) = self_signed(&["b".into()], &[], 0).unwrap();
        std::fs::remove_file(&cert).unwrap();
        write_pem(&cert, "CERTIFICATE", &c1, 0o644).unwrap();
        write_pem(&key, "PRIVATE KEY", &k2, 0o600).unwrap();
        let e = load(&cert, &key).unwrap_err().to_string();
        assert!(
            e.starts_with("option admin_key: ") && e.contains("not the key"),
            "{e}"
        );
        std::fs::remove_file(&key).unwrap();
        let e = load(&cert, &key).unwrap_err().to_string();
        assert!(e.starts_with("option admin_key: "), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
