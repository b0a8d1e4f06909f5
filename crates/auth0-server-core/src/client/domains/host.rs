//! Hosts as the app lists its sites and as requests name them: parsed as a host (with
//! `url::Host`, which lower-cases and maps IDNA to ASCII) and an optional port, never as a
//! URL, so nothing else (a user, a password, a path, a fragment) can ride along.

use std::fmt;

/// The ports browsers leave out of `Host` (and URL parsers out of an HTTP/2 authority).
const DEFAULT_PORTS: [u16; 2] = [443, 80];

/// A host and its port if it has one: lower case ASCII (IDNA), no trailing dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostPort {
    host: String,
    port: Option<u16>,
}

impl HostPort {
    /// `host` or `host:port` (`[v6]:port` too); `None` when it is anything else: a `%`
    /// escape, a `@`, `#`, `/`, `?`, a space, an empty host, a port that is not a number.
    pub(crate) fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        if input.contains('%') {
            return None;
        }
        let (name, port) = split_port(input)?;
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() {
            return None;
        }
        let host = url::Host::parse(name).ok()?;
        // An empty label (`a..b`, a second trailing dot, a Unicode full stop IDNA maps to
        // one) names no host.
        if let url::Host::Domain(domain) = &host
            && domain.split('.').any(str::is_empty)
        {
            return None;
        }
        Some(Self {
            host: host.to_string(),
            port,
        })
    }

    /// The host, as a URL carries it (`[::1]` for an IPv6 address).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The port, when it has one.
    pub(crate) fn port(&self) -> Option<u16> {
        self.port
    }

    /// The same host without its port when that is a default one (the form browsers send).
    pub(crate) fn without_default_port(&self) -> Self {
        let port = self.port.filter(|p| !DEFAULT_PORTS.contains(p));
        Self {
            host: self.host.clone(),
            port,
        }
    }

    /// The same host without any port.
    pub(crate) fn without_port(&self) -> Self {
        Self {
            host: self.host.clone(),
            port: None,
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// `input` split into its host and port (`None` when the port is not a number).
fn split_port(input: &str) -> Option<(&str, Option<u16>)> {
    if input.starts_with('[') {
        let end = input.find(']')? + 1;
        let port = match &input[end..] {
            "" => None,
            rest => Some(parse_port(rest.strip_prefix(':')?)?),
        };
        return Some((&input[..end], port));
    }
    match input.rsplit_once(':') {
        Some((name, port)) => Some((name, Some(parse_port(port)?))),
        None => Some((input, None)),
    }
}

fn parse_port(port: &str) -> Option<u16> {
    let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| port.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::HostPort;

    fn parsed(input: &str) -> Option<String> {
        HostPort::parse(input).map(|h| h.to_string())
    }

    #[test]
    fn a_host_is_normalised_lower_case_ascii_without_trailing_dot() {
        for (input, want) in [
            ("Shop.Example.com", "shop.example.com"),
            ("shop.example.com.", "shop.example.com"),
            ("SHOP.example.com.:8443", "shop.example.com:8443"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("shop.example.com:443", "shop.example.com:443"),
            ("[::1]:8080", "[::1]:8080"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            assert_eq!(parsed(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn anything_but_a_host_and_a_port_is_refused() {
        for input in [
            "evil.example#.shop.example.com",
            "user:pw@shop.example.com",
            "user@shop.example.com",
            "evil.example/shop.example.com",
            "evil.example?.shop.example.com",
            "evil%2eexample",
            "a b",
            "",
            ".",
            "shop.example.com:",
            "shop.example.com:x",
            "shop.example.com:99999",
            "a:b:c",
            "shop..example.com",
            "shop.example.com..",
            ".shop.example.com",
            "shopneple\u{4a3}jm....n...",
            "[::1",
            "[::1]x",
        ] {
            assert_eq!(parsed(input), None, "{input:?}");
        }
    }

    #[test]
    fn default_ports_are_the_ones_browsers_leave_out() {
        let listed = HostPort::parse("shop.example.com:443").unwrap();
        assert_eq!(
            listed.without_default_port().to_string(),
            "shop.example.com"
        );
        let other = HostPort::parse("shop.example.com:8443").unwrap();
        assert_eq!(other.without_default_port(), other);
        assert_eq!(other.without_port().to_string(), "shop.example.com");
    }
}
