//! Reading the pages posts link to, without becoming a way into our own network (SSRF): only
//! http(s), only public addresses — a literal address is checked before any connection, a name
//! is resolved by us and its non-public addresses dropped, every redirect hop is checked the
//! same way — no proxies, robots.txt obeyed, a few content types, bounded size, time and hops.
//! The readable text is extracted by `dom_smoothie` (a port of Mozilla's Readability).

use crate::robots::Robots;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use siftgram_core::model::LinkText;
use siftgram_core::ports::{LinkError, LinkReader};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::{Host, Url};

/// The product token robots.txt groups are matched against.
pub const ROBOTS_AGENT: &str = "SiftgramBot";
const USER_AGENT: &str = "Mozilla/5.0 (compatible; SiftgramBot/1.0; reads pages linked from Telegram posts)";
/// A host's robots.txt is read again after an hour.
const ROBOTS_TTL: Duration = Duration::from_secs(3600);
const MAX_ROBOTS_BYTES: usize = 512 * 1024;

#[derive(Clone, Debug)]
pub struct LinkFetcherSettings {
    /// The whole read of one link: robots.txt, redirects, body.
    pub timeout: Duration,
    /// Bytes of a page read at most; the rest is not downloaded (a page's lead is what counts).
    pub max_bytes: usize,
    pub max_redirects: usize,
    /// Host names sent to fixed addresses and exempt from the public-address rule: an
    /// operator's own mirror, or a test's fake site. Empty in production.
    pub pinned_hosts: Vec<(String, SocketAddr)>,
}

impl LinkFetcherSettings {
    /// `SIFTGRAM_READ_LINKS` = `true` (default) | `false`: None when links are not to be read.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<LinkFetcherSettings>, (&'static str, String)> {
        match lookup("SIFTGRAM_READ_LINKS").as_deref().map(str::trim) {
            None | Some("" | "true" | "1" | "yes") => Ok(Some(LinkFetcherSettings::default())),
            Some("false" | "0" | "no") => Ok(None),
            Some(other) => Err(("SIFTGRAM_READ_LINKS", format!("{other:?} is not true or false"))),
        }
    }
}

impl Default for LinkFetcherSettings {
    fn default() -> Self {
        LinkFetcherSettings { timeout: Duration::from_secs(8), max_bytes: 2 * 1024 * 1024, max_redirects: 3, pinned_hosts: Vec::new() }
    }
}

pub struct LinkFetcher {
    client: reqwest::Client,
    settings: LinkFetcherSettings,
    robots: Mutex<HashMap<String, (Instant, Arc<Robots>)>>,
}

/// Whether `ip` is an address on the public internet: not loopback, private, link-local (the
/// cloud metadata service at 169.254.169.254), shared (CGNAT), multicast, documentation,
/// benchmarking or reserved — IPv4 inside IPv6 judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [o0, o1, o2, _] = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_broadcast()
                || a.is_documentation()
                || a.is_unspecified()
                || o0 == 0
                || (o0 == 100 && (o1 & 0xc0) == 64)
                || (o0 == 192 && o1 == 0 && o2 == 0)
                || (o0 == 198 && (o1 & 0xfe) == 18)
                || o0 >= 224)
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = a.segments();
            let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
            if nat64 {
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8)));
            }
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || s[0..6] == [0, 0, 0, 0, 0, 0])
        }
    }
}

/// Why a name was not connected to; found in the error chain to tell a refusal from a failure.
#[derive(Debug)]
struct NotPublic(String);

impl std::fmt::Display for NotPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} has no public address", self.0)
    }
}

impl std::error::Error for NotPublic {}

/// DNS as the system resolves it, minus every address that is not public.
struct PublicAddressesOnly;

impl Resolve for PublicAddressesOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(NotPublic(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

fn unreadable(why: impl std::fmt::Display) -> LinkError {
    LinkError::Unreadable(why.to_string())
}

/// A transport error, or the refusal our resolver made.
fn send_error(e: reqwest::Error) -> LinkError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<NotPublic>() {
            return LinkError::Refused(refused.to_string());
        }
        source = err.source();
    }
    if e.is_timeout() { unreadable("timed out") } else { unreadable(format!("request failed: {e}")) }
}

impl LinkFetcher {
    pub fn new(settings: LinkFetcherSettings) -> LinkFetcher {
        crate::install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the names itself, past our address check.
            .no_proxy()
            .connect_timeout(Duration::from_secs(4))
            .dns_resolver(Arc::new(PublicAddressesOnly));
        for (host, addr) in &settings.pinned_hosts {
            builder = builder.resolve(host, *addr);
        }
        let client = builder.build().expect("HTTP client");
        LinkFetcher { client, settings, robots: Mutex::new(HashMap::new()) }
    }

    /// Refuses what must never be connected to, before any connection.
    fn check(&self, url: &Url) -> Result<(), LinkError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(LinkError::Refused(format!("{} is not http(s)", url.scheme())));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(LinkError::Refused("the address carries credentials".into()));
        }
        match url.host() {
            None => Err(LinkError::Refused("no host".into())),
            Some(Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err(LinkError::Refused(format!("{ip} is not a public address"))),
            Some(Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err(LinkError::Refused(format!("{ip} is not a public address"))),
            // A name is judged by the addresses it resolves to (PublicAddressesOnly); pinned
            // names never reach the resolver.
            _ => Ok(()),
        }
    }

    async fn robots_for(&self, url: &Url) -> Result<Arc<Robots>, LinkError> {
        let origin = url.origin().ascii_serialization();
        if let Some((at, robots)) = self.robots.lock().expect("robots cache").get(&origin)
            && at.elapsed() < ROBOTS_TTL
        {
            return Ok(robots.clone());
        }
        let robots = Arc::new(self.fetch_robots(&origin).await?);
        self.robots.lock().expect("robots cache").insert(origin, (Instant::now(), robots.clone()));
        Ok(robots)
    }

    /// RFC 9309: a 4xx (none there) allows everything; a 5xx forbids everything; a redirect is
    /// not followed and read as none there. A host that cannot be reached, or has no public
    /// address, is not read at all.
    async fn fetch_robots(&self, origin: &str) -> Result<Robots, LinkError> {
        // Unreachable (or no public address): the page is not read either, for that reason.
        let response = self.client.get(format!("{origin}/robots.txt")).send().await.map_err(send_error)?;
        let status = response.status();
        Ok(if status.is_success() {
            match read_capped(response, MAX_ROBOTS_BYTES).await {
                Ok(body) => Robots::parse(&String::from_utf8_lossy(&body), ROBOTS_AGENT),
                Err(_) => Robots::disallow_all(),
            }
        } else if status.is_server_error() {
            Robots::disallow_all()
        } else {
            Robots::allow_all()
        })
    }

    async fn read_within(&self, address: &str) -> Result<LinkText, LinkError> {
        let mut url = Url::parse(address).map_err(|e| LinkError::Refused(format!("not an address: {e}")))?;
        for _ in 0..=self.settings.max_redirects {
            self.check(&url)?;
            let host = url.host_str().unwrap_or_default().to_owned();
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            if !self.robots_for(&url).await?.allows(&path) {
                return Err(LinkError::Refused(format!("robots.txt of {host} disallows it")));
            }
            let response = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "text/html,application/xhtml+xml,text/plain;q=0.8")
                .send()
                .await
                .map_err(send_error)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| unreadable("a redirect without a location"))?;
                url = url.join(location).map_err(|e| unreadable(format!("a redirect to a bad address: {e}")))?;
                // The next hop is checked like the first: a public page may redirect inward.
                continue;
            }
            if !status.is_success() {
                return Err(unreadable(format!("status {status}")));
            }
            let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
            let essence = content_type.split(';').next().unwrap_or("").trim().to_owned();
            let html = match essence.as_str() {
                "text/html" | "application/xhtml+xml" => true,
                "text/plain" => false,
                other => return Err(unreadable(format!("content type {other:?}"))),
            };
            let body = read_capped(response, self.settings.max_bytes).await?;
            let text = decode(&body, &content_type);
            let final_url = url.to_string();
            let (title, text) = if html {
                let at = final_url.clone();
                tokio::task::spawn_blocking(move || readable(&text, &at)).await.map_err(unreadable)?.ok_or_else(|| unreadable("no readable article"))?
            } else {
                (String::new(), text)
            };
            return LinkText::new(&final_url, &title, &text).ok_or_else(|| unreadable("no text"));
        }
        Err(unreadable(format!("more than {} redirects", self.settings.max_redirects)))
    }
}

#[async_trait::async_trait]
impl LinkReader for LinkFetcher {
    async fn read(&self, url: &str) -> Result<LinkText, LinkError> {
        match tokio::time::timeout(self.settings.timeout, self.read_within(url)).await {
            Ok(read) => read,
            Err(_) => Err(unreadable(format!("took over {} s", self.settings.timeout.as_secs()))),
        }
    }
}

/// The body up to `max` bytes; the rest is never downloaded.
async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, LinkError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreadable(format!("reading the page: {e}")))? {
        let room = max - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= max {
            break;
        }
    }
    Ok(body)
}

/// The charset of the Content-Type, else of a `<meta charset>` near the top, else UTF-8.
fn decode(body: &[u8], content_type: &str) -> String {
    let declared = |text: &str| -> Option<String> {
        let at = text.find("charset=")? + "charset=".len();
        let label: String = text[at..].trim_start_matches(['"', '\'']).chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        (!label.is_empty()).then_some(label)
    };
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let encoding = declared(content_type)
        .or_else(|| declared(&head))
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(body).0.into_owned()
}

/// The article's title and text, as Firefox's reader view would show them.
fn readable(html: &str, url: &str) -> Option<(String, String)> {
    let config = dom_smoothie::Config { max_elements_to_parse: 50_000, text_mode: dom_smoothie::TextMode::Formatted, ..Default::default() };
    let mut readability = dom_smoothie::Readability::new(html, Some(url), Some(config)).ok()?;
    let article = readability.parse().ok()?;
    Some((article.title, article.text_content.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_unless_switched_off() {
        let with = |v: Option<&str>| LinkFetcherSettings::from_lookup(|_| v.map(str::to_owned));
        assert!(with(None).unwrap().is_some_and(|s| s.pinned_hosts.is_empty()));
        assert!(with(Some("false")).unwrap().is_none());
        assert_eq!(with(Some("sometimes")).unwrap_err().0, "SIFTGRAM_READ_LINKS");
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "::"] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2a00:1450:4010:c0a::8b", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn charsets_come_from_the_header_then_the_page() {
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Привет");
        assert_eq!(decode(&cp1251, "text/html; charset=windows-1251"), "Привет");
        let page = [b"<meta charset=\"windows-1251\">".as_slice(), &cp1251].concat();
        assert!(decode(&page, "text/html").ends_with("Привет"));
        assert_eq!(decode("Привет".as_bytes(), "text/plain"), "Привет");
    }
}
