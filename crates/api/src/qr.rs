//! The login URL as a QR code, drawn here as SVG: black on white whatever the theme (scanners
//! need the contrast), with the quiet zone the standard asks for.

use qrcode::QrCode;
use qrcode::render::svg;

/// An `<svg>` element (no XML prologue, so it can go straight into the page) showing `data`.
pub fn svg(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    let image = code.render::<svg::Color>().min_dimensions(256, 256).quiet_zone(true).build();
    Some(image.split_once("?>").map_or(image.as_str(), |(_, rest)| rest).to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_login_url_becomes_an_svg_element() {
        let image = super::svg("tg://login?token=AQID").unwrap();
        assert!(image.starts_with("<svg") && image.ends_with("</svg>"), "{image}");
        assert_ne!(super::svg("tg://login?token=AQIE").unwrap(), image, "another token, another picture");
    }
}
