//! robots.txt as RFC 9309 reads it: the group for our user agent (else `*`), `Allow`/`Disallow`
//! path patterns with `*` and `$`, the longest match deciding and `Allow` winning a tie.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Robots {
    /// (allow, pattern)
    rules: Vec<(bool, String)>,
}

impl Robots {
    /// Everything allowed (no robots.txt, or a 4xx for it).
    pub fn allow_all() -> Robots {
        Robots::default()
    }

    /// Nothing allowed (robots.txt unreachable or 5xx: RFC 9309 says assume the worst).
    pub fn disallow_all() -> Robots {
        Robots { rules: vec![(false, "/".into())] }
    }

    /// The rules of `text` for `agent` (a product token, matched case-insensitively).
    pub fn parse(text: &str, agent: &str) -> Robots {
        let agent = agent.to_ascii_lowercase();
        // Groups: (agents, rules). Consecutive user-agent lines share one group.
        let mut groups: Vec<(Vec<String>, Vec<(bool, String)>)> = Vec::new();
        let mut last_was_agent = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((field, value)) = line.split_once(':') else { continue };
            let (field, value) = (field.trim().to_ascii_lowercase(), value.trim());
            match field.as_str() {
                "user-agent" => {
                    if !last_was_agent || groups.is_empty() {
                        groups.push((Vec::new(), Vec::new()));
                    }
                    groups.last_mut().expect("a group").0.push(value.to_ascii_lowercase());
                    last_was_agent = true;
                }
                "allow" | "disallow" => {
                    last_was_agent = false;
                    if let Some(group) = groups.last_mut() {
                        // An empty Disallow allows everything: it adds no rule.
                        if !value.is_empty() {
                            group.1.push((field == "allow", value.to_owned()));
                        }
                    }
                }
                _ => last_was_agent = false,
            }
        }
        let ours: Vec<(bool, String)> = groups.iter().filter(|(agents, _)| agents.iter().any(|a| *a == agent)).flat_map(|(_, r)| r.clone()).collect();
        let rules = if ours.is_empty() && !groups.iter().any(|(agents, _)| agents.iter().any(|a| *a == agent)) {
            groups.iter().filter(|(agents, _)| agents.iter().any(|a| a == "*")).flat_map(|(_, r)| r.clone()).collect()
        } else {
            ours
        };
        Robots { rules }
    }

    /// Whether `path` (with its query) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if matches(pattern, path) {
                let len = pattern.len();
                if best.is_none_or(|(l, a)| len > l || (len == l && *allow && !a)) {
                    best = Some((len, *allow));
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// `pattern` matches a prefix of `path` (all of it with a final `$`); `*` stands for any run
/// of characters.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p.as_bytes(), true),
        None => (pattern.as_bytes(), false),
    };
    let path = path.as_bytes();
    let (mut i, mut j) = (0, 0);
    // The last `*` seen and where in `path` its run ends so far, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while j < path.len() {
        if i < pattern.len() && pattern[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < pattern.len() && pattern[i] == path[j] {
            i += 1;
            j += 1;
        } else if i == pattern.len() && !anchored {
            return true;
        } else if let Some((at, end)) = star {
            i = at + 1;
            j = end + 1;
            star = Some((at, end + 1));
        } else {
            return false;
        }
    }
    pattern[i..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# comment\nUser-agent: *\nDisallow: /private\nAllow: /private/open\n\nUser-agent: OtherBot\nUser-agent: SiftgramBot\nDisallow: /\nAllow: /news/\nDisallow: /*.pdf$\n";

    #[test]
    fn our_group_is_used_and_the_longest_rule_decides() {
        let ours = Robots::parse(TEXT, "SiftgramBot");
        assert!(ours.allows("/news/2026/rates"));
        assert!(!ours.allows("/about"));
        assert!(!ours.allows("/news/report.pdf"));
        assert!(ours.allows("/news/report.pdf?page=2"), "$ anchors the end");
        let anyone = Robots::parse(TEXT, "ThirdBot");
        assert!(anyone.allows("/news/x"));
        assert!(!anyone.allows("/private/x"));
        assert!(anyone.allows("/private/open/x"), "the longer Allow wins");
    }

    #[test]
    fn empty_missing_and_unreachable_files() {
        assert!(Robots::parse("User-agent: *\nDisallow:\n", "SiftgramBot").allows("/anything"));
        assert!(Robots::parse("", "SiftgramBot").allows("/anything"));
        assert!(Robots::allow_all().allows("/x"));
        assert!(!Robots::disallow_all().allows("/x"));
        assert!(!Robots::parse("User-agent: *\nDisallow: /a*c\n", "b").allows("/abbbc/d"));
        assert!(Robots::parse("User-agent: *\nDisallow: /a*c\n", "b").allows("/abbb"));
    }
}
