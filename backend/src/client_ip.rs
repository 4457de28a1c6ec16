//! Who is asking: the client's IP address, believed from proxy headers only when the
//! connection comes from a configured trusted proxy (otherwise anyone could claim any
//! address with `X-Forwarded-For` and walk around rate limits).

use std::{net::IpAddr, sync::Arc};

use ipnet::IpNet;
use poem::{Endpoint, Request, Response};

/// The client's address, resolved once per request and kept in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The resolved address of `request` (set by [`resolve`]), else unknown.
    pub fn of(request: &Request) -> Option<IpAddr> {
        request.extensions().get::<ClientIp>().map(|ip| ip.0)
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request that came from `peer` with `headers`.
    ///
    /// From a trusted proxy: the right-most `X-Forwarded-For` entry that is not itself a
    /// trusted proxy (entries further left were written by the client and prove nothing),
    /// else `X-Real-IP`, else the proxy itself. From anyone else: the peer.
    pub fn client_ip(&self, peer: IpAddr, headers: &poem::http::HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        if let Some(ip) = forwarded.iter().rev().find(|ip| !self.contains(**ip)) {
            return *ip;
        }
        headers
            .get("x-real-ip")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(peer)
    }
}

/// Middleware: stores the request's [`ClientIp`].
pub async fn resolve<E: Endpoint>(
    next: Arc<E>,
    mut request: Request,
    trusted: &TrustedProxies,
) -> poem::Result<Response> {
    if let Some(peer) = request.remote_addr().as_socket_addr().map(|addr| addr.ip()) {
        let ip = trusted.client_ip(peer.to_canonical(), request.headers());
        request.extensions_mut().insert(ClientIp(ip));
    }
    Ok(next.get_response(request).await)
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderMap;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()])
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-real-ip", "1.2.3.4")]);
        assert_eq!(proxies().client_ip(peer, &spoofed), peer);
    }

    #[test]
    fn a_trusted_proxy_is_believed_about_the_right_most_untrusted_hop() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.3")]);
        assert_eq!(
            proxies().client_ip(peer, &chain),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        let real_ip = headers(&[("x-real-ip", "198.51.100.8")]);
        assert_eq!(
            proxies().client_ip(peer, &real_ip),
            "198.51.100.8".parse::<IpAddr>().unwrap()
        );
    }
}
