//! A real headless Chromium for the Mini App pages, driven over WebDriver (Debian's
//! `chromium` and `chromedriver`, which `scripts/test-all.sh` installs). Pages are opened the
//! way Telegram opens them: launch parameters in the URL hash, signed with the bot's token.
//! Screenshots go to `target/screenshots/` for people to look at, and QR codes are read back
//! from them.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Telegram's dark theme, as a client sends it.
pub const DARK_THEME: &str = r##"{"bg_color":"#17212b","text_color":"#f5f5f5","hint_color":"#708499","link_color":"#6ab3f3","button_color":"#5288c1","button_text_color":"#ffffff","secondary_bg_color":"#232e3c","destructive_text_color":"#ec3942"}"##;

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn program(env: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    for name in names {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("{} is not installed (scripts/test-all.sh installs Debian's chromium and chromium-driver; or set {env})", names[0]);
}

impl Browser {
    /// Starts chromedriver on a free port and a fresh headless Chromium behind it.
    pub async fn start() -> Browser {
        Self::start_sized(420, 860).await
    }

    /// A browser whose window is `width` × `height` CSS pixels (a phone by default; the demo
    /// chat page is shown at a desktop's size).
    pub async fn start_sized(width: u32, height: u32) -> Browser {
        let chromium = program("CHROME", &["chromium", "chromium-browser"]);
        let chromedriver = program("CHROMEDRIVER", &["chromedriver"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(&chromedriver).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--force-device-scale-factor=1",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display()), format!("--window-size={width},{height}")])
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), json!({"binary": chromium, "args": args}));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session with Chromium: {e}"),
            }
        };
        Browser { client, driver, _profile: profile }
    }

    /// Opens `page` as Telegram would for the launch data `init_data`, in Telegram's dark theme.
    pub async fn open_mini_app(&self, page: &str, init_data: &str) {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let url = format!("{page}#tgWebAppData={}&tgWebAppVersion=8.0&tgWebAppPlatform=tdesktop&tgWebAppThemeParams={}", enc(init_data), enc(DARK_THEME));
        // From a blank page, so that the same page with other launch data loads anew (a change
        // of the hash alone would not).
        self.client.goto("about:blank").await.expect("blank page");
        self.client.goto(&url).await.expect("page opens");
    }

    /// Opens an ordinary page.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    }

    /// Runs `inside` with the page's `index`th frame as the current document, then returns to
    /// the page.
    pub async fn in_frame<T, F: std::future::Future<Output = T>>(&self, index: u16, inside: impl FnOnce() -> F) -> T {
        self.client.enter_frame(index).await.expect("the frame");
        let out = inside().await;
        self.client.enter_parent_frame().await.expect("back to the page");
        out
    }

    /// Evaluates `expression` in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client.execute(&format!("return ({expression});"), vec![]).await.unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    /// Waits (up to `within`) until `expression` is truthy in the page.
    pub async fn until(&self, what: &str, within: Duration, expression: &str) {
        let deadline = Instant::now() + within;
        loop {
            let value = self.eval(expression).await;
            if !(value.is_null() || value == json!(false) || value == json!("") || value == json!(0)) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.eval("document.body.innerText").await;
                self.screenshot(&format!("timeout-{}", what.replace(' ', "-"))).await;
                panic!("timed out waiting for {what}; the page shows: {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// A PNG of the viewport, also written to `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Vec<u8> {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshots dir");
        std::fs::write(dir.join(format!("{name}.png")), &png).expect("screenshot written");
        png
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The QR codes in a PNG screenshot, decoded.
pub fn qr_codes(png: &[u8]) -> Vec<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let grey = |x: usize, y: usize| {
        let i = (y * w + x) * channels;
        if channels >= 3 { ((u32::from(buffer[i]) * 299 + u32::from(buffer[i + 1]) * 587 + u32::from(buffer[i + 2]) * 114) / 1000) as u8 } else { buffer[i] }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
    image.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
}
